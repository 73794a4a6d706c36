"""WhatsApp Business Cloud API. For now the manifest and per-tenant settings; sending and
webhooks come with the outbox."""

from core.hookspecs import hookimpl
from core.plugin_types import PluginManifest
from plugins.whatsapp.settings import WhatsAppSettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(
        id="whatsapp", name="WhatsApp Business", version="0.1.0",
        description="Messages to customers through the WhatsApp Business Cloud API.",
        settings_model=WhatsAppSettings,
    )
