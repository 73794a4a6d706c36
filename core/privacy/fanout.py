"""The plugins that store personal data themselves, through ``seva_privacy_fanout``: export and
erasure ask the plugins enabled for the tenant, and those it turned off since
(``core.platform.tenant_plugins.privacy_fanouts``)."""

from __future__ import annotations

from seva_crm.core.platform.plugins import get_plugins


def plugin_name(plugin_id: str) -> str:
    loaded = get_plugins().loaded.get(plugin_id)
    return loaded.manifest.name if loaded else plugin_id
