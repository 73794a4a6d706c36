"""Which notification channels a tenant can send through, and with which plugin settings.

MERGE SEAM: until per-tenant plugin enablement lands (the plugin platform's
``plugin_config(tenant_id, plugin_id)``), every loaded plugin's channels are available to every
tenant with ``settings=None``. At merge, switch ``channels_for_tenant`` to keep only the plugins
the tenant enabled and to pass each plugin's validated settings; nothing else in the outbox
needs to change."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from core.channels import NotificationChannel
from core.plugins import Plugins, get_plugins


@dataclass(frozen=True)
class ChannelBinding:
    plugin_id: str
    adapter: NotificationChannel
    settings: Any  # the plugin's validated settings for this tenant (None until the merge)


_cache: weakref.WeakKeyDictionary[Plugins, dict[str, tuple[str, NotificationChannel]]] = weakref.WeakKeyDictionary()


def loaded_channels() -> dict[str, tuple[str, NotificationChannel]]:
    """Every channel the loaded plugins provide: name -> (plugin id, adapter), asked of the
    plugins once per process. When two plugins offer the same channel name, the first wins."""
    plugins = get_plugins()
    cached = _cache.get(plugins)
    if cached is not None:
        return cached
    found: dict[str, tuple[str, NotificationChannel]] = {}
    for pid, loaded in plugins.loaded.items():
        hook = getattr(loaded.module, "seva_notification_channels", None)
        for adapter in (hook() if hook else None) or []:
            found.setdefault(adapter.name, (pid, adapter))
    _cache[plugins] = found
    return found


async def channels_for_tenant(tenant_id: UUID) -> dict[str, ChannelBinding]:
    """The channels ``tenant_id`` may send through: name -> binding. (See MERGE SEAM above.)"""
    return {name: ChannelBinding(pid, adapter, None) for name, (pid, adapter) in loaded_channels().items()}
