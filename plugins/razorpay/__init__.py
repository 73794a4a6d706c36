"""Razorpay (India): payment links, Checkout, refunds, auto-debit subscriptions and webhooks.

Modules: hooks, settings (and the tenant's credentials), adapter (billing's payment gateway),
client (async API client), errors, signatures, webhooks (and their processing job), checkout,
graphql, fake (a local fake Razorpay for tests)."""
