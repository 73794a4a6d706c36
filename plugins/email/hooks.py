"""The email plugin's hook implementations (the ``seva`` entry point names this module)."""

from seva_crm.plugin_api import PluginManifest, hookimpl
from seva_crm.plugins.email.adapter import EmailChannel
from seva_crm.plugins.email.settings import EmailSettings

_channel = EmailChannel()


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(
        id="email", name="Email (SMTP)", version="0.2.0",
        description="Email to customers through the tenant's SMTP server (or the instance's).",
        settings_model=EmailSettings,
        models="seva_crm.plugins.email.models", migrations="seva_crm.plugins.email.migrations",
    )


@hookimpl
def seva_notification_channels() -> list:
    return [_channel]


@hookimpl
def seva_webhook_routes() -> list:
    from seva_crm.plugins.email.webhooks import routes

    return routes
