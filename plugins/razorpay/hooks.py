"""The razorpay plugin's hook implementations (re-exported by the package, which pluggy registers)."""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.plugin_types import GraphQLContribution, PluginManifest
from plugins.razorpay.settings import RazorpaySettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(id="razorpay", name="Razorpay", version="0.1.0",
                          description="Payment links, Checkout, refunds and auto-debit through Razorpay (India)",
                          settings_model=RazorpaySettings)


@hookimpl
def seva_payment_gateways():
    from plugins.razorpay.gateway import RazorpayGateway

    return [RazorpayGateway()]


@hookimpl
def seva_webhook_routes():
    from plugins.razorpay.webhooks import routes

    return routes()


@hookimpl
def seva_graphql() -> GraphQLContribution:
    from plugins.razorpay.graphql import RazorpayMutation

    return GraphQLContribution(mutation=RazorpayMutation)
