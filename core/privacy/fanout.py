"""The plugins that store personal data themselves, through ``seva_privacy_fanout``."""

from __future__ import annotations

from seva_crm.core.platform.plugin_types import PrivacyFanout
from seva_crm.core.platform.plugins import get_plugins


def fanout_adapters() -> list[tuple[str, PrivacyFanout]]:
    """(plugin id, adapter) for every loaded plugin that implements the hook. Erasure reaches a
    plugin even if a tenant has since disabled it: it may still hold data from before."""
    plugins = get_plugins()
    found = []
    for impl in plugins.pm.hook.seva_privacy_fanout.get_hookimpls():
        adapter = impl.function()
        if adapter is not None:
            found.append((plugins.plugin_id(impl.plugin), adapter))
    return sorted(found, key=lambda pair: pair[0])


def plugin_name(plugin_id: str) -> str:
    loaded = get_plugins().loaded.get(plugin_id)
    return loaded.manifest.name if loaded else plugin_id
