"""The whatsapp plugin's hook implementations (the ``seva`` entry point names this module)."""

from seva_crm.plugin_api import PluginManifest, hookimpl
from seva_crm.plugins.whatsapp.settings import WhatsAppInstanceSettings, WhatsAppSettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(
        id="whatsapp", name="WhatsApp Business", version="0.2.0",
        description="Messages to customers through the WhatsApp Business Cloud API.",
        settings_model=WhatsAppSettings, instance_settings=WhatsAppInstanceSettings,
        models="seva_crm.plugins.whatsapp.models", migrations="seva_crm.plugins.whatsapp.migrations",
        processing_countries=("US",),  # Meta's Cloud API processes messages outside India and Bangladesh
    )


@hookimpl
def seva_notification_channels() -> list:
    from seva_crm.plugins.whatsapp.adapter import WhatsAppChannel

    return [WhatsAppChannel()]


@hookimpl
def seva_webhook_routes() -> list:
    from seva_crm.plugins.whatsapp.webhooks import routes

    return routes()


@hookimpl
def seva_privacy_fanout():
    from seva_crm.plugins.whatsapp.contacts import ContactsPrivacy

    return ContactsPrivacy()
