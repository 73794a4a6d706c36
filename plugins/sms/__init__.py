"""SMS through a gateway: MSG91 (India, DLT templates) or SSL Wireless (Bangladesh). For now
the manifest and per-tenant settings; sending comes with the outbox."""

from core.hookspecs import hookimpl
from core.plugin_types import PluginManifest
from plugins.sms.settings import SmsSettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(
        id="sms", name="SMS", version="0.1.0",
        description="Text messages through MSG91 (India) or SSL Wireless (Bangladesh).",
        settings_model=SmsSettings,
    )
