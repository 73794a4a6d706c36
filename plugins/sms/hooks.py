"""The sms plugin's hook implementations (the ``seva`` entry point names this module)."""

from seva_crm.plugin_api import PluginManifest, hookimpl
from seva_crm.plugins.sms.settings import SmsInstanceSettings, SmsSettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(
        id="sms", name="SMS", version="0.2.0",
        description="Text messages through MSG91 (India) or SSL Wireless (Bangladesh).",
        settings_model=SmsSettings, instance_settings=SmsInstanceSettings,
        processing_countries=gateway_countries,
    )


def gateway_countries(settings) -> tuple[str, ...]:
    """MSG91 processes in India, SSL Wireless in Bangladesh."""
    return {"msg91": ("IN",), "sslwireless": ("BD",)}.get(getattr(settings, "gateway", ""), ())


@hookimpl
def seva_notification_channels() -> list:
    from seva_crm.plugins.sms.adapter import channel

    return [channel]


@hookimpl
def seva_webhook_routes() -> list:
    from seva_crm.plugins.sms.webhooks import routes

    return routes()
