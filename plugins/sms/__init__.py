"""SMS through a gateway chosen per tenant: MSG91 (India, DLT templates) or SSL Wireless
(Bangladesh).

Modules: hooks, settings, adapter (the ``sms`` channel), client (the gateways' HTTP APIs),
segments (parts and cost), webhooks (delivery reports, STOP replies), fake (local fake gateways)."""
