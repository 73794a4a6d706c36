"""An example Seva CRM plugin: the ``hello`` notification channel, a (pretend) SMS gateway.

hooks.py (what Seva calls), settings.py (the tenant's account, the provider's address),
adapter.py (the channel), client.py (the provider's HTTP API), webhooks.py (its signed
delivery reports), fake.py (a local fake of the provider, for tests)."""
