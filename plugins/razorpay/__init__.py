"""Razorpay (India): payment links, Checkout, refunds, auto-debit subscriptions and webhooks.

Modules: client (async API client), errors, signatures, config (tenant credentials), gateway
(billing's payment gateway adapter), webhooks (and their processing job), checkout, graphql, fake
(a local fake Razorpay for tests) and hooks (registered here)."""

from seva_crm.plugins.razorpay.hooks import (
    seva_actors,
    seva_graphql,
    seva_manifest,
    seva_payment_gateways,
    seva_scheduled_jobs,
    seva_webhook_routes,
)

__all__ = ["seva_actors", "seva_graphql", "seva_manifest", "seva_payment_gateways", "seva_scheduled_jobs",
           "seva_webhook_routes"]
