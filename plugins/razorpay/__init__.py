"""Razorpay payments (India). For now the manifest and per-tenant settings; orders, payment
links and webhooks come with billing."""

from core.hookspecs import hookimpl
from core.plugin_types import PluginManifest
from plugins.razorpay.settings import RazorpaySettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(
        id="razorpay", name="Razorpay", version="0.1.0",
        description="Online payments, payment links and subscriptions through Razorpay (INR).",
        settings_model=RazorpaySettings,
    )
