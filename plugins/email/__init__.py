"""Email over SMTP. For now the manifest and per-tenant settings; sending comes with the outbox."""

from core.hookspecs import hookimpl
from core.plugin_types import PluginManifest
from plugins.email.settings import EmailSettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(
        id="email", name="Email (SMTP)", version="0.1.0",
        description="Email to customers through the tenant's SMTP server.",
        settings_model=EmailSettings,
    )
