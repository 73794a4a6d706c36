"""SSLCommerz (Bangladesh): pay an invoice by card, mobile banking or internet banking on
SSLCommerz's hosted page; IPN with validation; refunds.

Modules: hooks, settings (and the store's credentials in config), adapter (billing's payment
gateway), client (async API client), errors, signatures (verify_sign), links (our payment link: a
signed URL that opens a session per visit), pages, webhooks (the pay link, the IPN and the
browser's return, and the jobs that validate and record and poll refunds), fake (a local fake)."""
