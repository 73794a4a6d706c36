"""The email plugin's hook implementations (the ``seva`` entry point names this module)."""

from seva_crm.plugin_api import PluginManifest, hookimpl, instance_settings
from seva_crm.plugins.email.adapter import EmailChannel
from seva_crm.plugins.email.settings import EmailInstanceSettings, EmailSettings

_channel = EmailChannel()


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(
        id="email", name="Email (SMTP)", version="0.2.0",
        description="Email to customers through the tenant's SMTP server (or the instance's).",
        settings_model=EmailSettings,
        models="seva_crm.plugins.email.models", migrations="seva_crm.plugins.email.migrations",
        instance_settings=EmailInstanceSettings, processing_countries=smtp_countries,
    )


def smtp_countries(settings) -> tuple[str, ...]:
    """The instance's SMTP server is where the operator says (SEVA_EMAIL_PROCESSING_COUNTRIES); a
    tenant's own server (host set) is the tenant's choice, and its own country."""
    if settings is not None and settings.host:
        return tuple(settings.server_countries)
    return tuple(c for c in instance_settings("email").processing_countries.split(",") if c.strip())


@hookimpl
def seva_notification_channels() -> list:
    return [_channel]


@hookimpl
def seva_webhook_routes() -> list:
    from seva_crm.plugins.email.webhooks import routes

    return routes
