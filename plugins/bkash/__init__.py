"""bKash tokenized checkout (Bangladesh): pay an invoice from a bKash wallet, and refunds.

Modules: hooks, settings (and the tenant's credentials in config), adapter (billing's payment
gateway), client (async API client with the cached grant token), errors, amounts, links (our
payment link: a signed URL that starts a checkout per visit), webhooks (the pay link and the
browser callback, and the job that executes and records), fake (a local fake bKash for tests)."""
