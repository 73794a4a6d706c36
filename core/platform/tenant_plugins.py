"""What a tenant's enabled plugins provide: their ids and settings, their adapters, and hook
callers that skip the plugins a tenant has not enabled.

The plugin manager is built once per process; for a tenant we only look up its choices (one
small query) and take the cached subset hook caller for the plugins it has not enabled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pluggy import HookCaller
from pydantic import BaseModel

from seva_crm.core.platform.channels import NotificationChannel
from seva_crm.core.models import PluginSettings
from seva_crm.core.platform.context import kept
from seva_crm.core.platform.plugin_settings import is_enabled, load_settings, loaded_plugin
from seva_crm.core.platform.plugins import Plugins, get_plugins


async def settings_rows(tenant_id: UUID) -> dict[str, PluginSettings]:
    """The tenant's plugin settings rows by plugin id: one query, kept for the request or job
    (``core.platform.context``). Read-only: a change goes through ``update_plugin_settings``."""

    async def load() -> dict[str, PluginSettings]:
        return {row.plugin_id: row for row in await PluginSettings.filter(tenant_id=tenant_id)}

    return await kept("plugin_settings", tenant_id, load)


async def enabled_plugins(tenant_id: UUID, plugins: Plugins | None = None) -> list[str]:
    """Ids of the plugins enabled for the tenant (its choice, else the plugin's default), in load order."""
    plugins = plugins or get_plugins()
    rows = await settings_rows(tenant_id)
    return [pid for pid, loaded in plugins.loaded.items() if is_enabled(loaded, rows.get(pid))]


async def plugin_config(tenant_id: UUID, plugin_id: str, plugins: Plugins | None = None) -> BaseModel | None:
    """The plugin's settings for the tenant as its pydantic model, secrets decrypted (``SecretStr``:
    call ``get_secret_value()`` only where the secret is used). None if the plugin has no settings
    model or the tenant has not configured it. Does not check enablement."""
    loaded = loaded_plugin(plugin_id, plugins)

    async def load() -> BaseModel | None:
        return load_settings(loaded, (await settings_rows(tenant_id)).get(plugin_id))

    return await kept("plugin_config", tenant_id, load, key=plugin_id)


async def tenant_hook(tenant_id: UUID, name: str, plugins: Plugins | None = None) -> HookCaller:
    """The hook ``name`` restricted to the plugins enabled for the tenant (a cached subset caller)."""
    plugins = plugins or get_plugins()
    enabled = await enabled_plugins(tenant_id, plugins)
    return plugins.hook(name, frozenset(plugins.loaded) - set(enabled))


@dataclass(frozen=True)
class Offer:
    """An adapter one plugin provides, and which plugin (its settings go with every call)."""

    plugin_id: str
    adapter: Any


async def _offers(tenant_id: UUID, hook_name: str, plugins: Plugins | None) -> list[Offer]:
    plugins = plugins or get_plugins()
    provided = plugins.provided(hook_name)
    if not provided:
        return []
    enabled = set(await enabled_plugins(tenant_id, plugins))
    return [Offer(pid, adapter) for pid, adapter in provided if pid in enabled]


async def notification_channels(tenant_id: UUID, plugins: Plugins | None = None) -> dict[str, Offer]:
    """The tenant's channels by name ("whatsapp", "sms", ...): adapters of its enabled plugins.
    Where two plugins offer one name, the first loaded wins."""
    channels: dict[str, Offer] = {}
    for offer in await _offers(tenant_id, "seva_notification_channels", plugins):
        adapter: NotificationChannel = offer.adapter
        channels.setdefault(adapter.name, offer)
    return channels


async def payment_gateways(tenant_id: UUID, plugins: Plugins | None = None) -> list[Offer]:
    """Payment gateway adapters (``PaymentGateway``) of the tenant's enabled plugins."""
    return await _offers(tenant_id, "seva_payment_gateways", plugins)


async def privacy_fanouts(tenant_id: UUID, plugins: Plugins | None = None) -> list[Offer]:
    """Privacy fan-out adapters (``PrivacyFanout``) of the plugins enabled for the tenant and of
    those it has turned off since: a plugin the tenant stopped using may still hold its customers'
    data, and access and erasure requests must reach that data too. (Turning a plugin off leaves
    its settings row, enabled = false; a plugin the tenant never used holds nothing.)"""
    plugins = plugins or get_plugins()
    provided = plugins.provided("seva_privacy_fanout")
    if not provided:
        return []
    rows = await settings_rows(tenant_id)
    reach = {pid for pid, loaded in plugins.loaded.items() if pid in rows or is_enabled(loaded, rows.get(pid))}
    return [Offer(pid, adapter) for pid, adapter in provided if pid in reach]


async def enabled_config(tenant_id: UUID, plugin_id: str, plugins: Plugins | None = None) -> BaseModel | None:
    """The plugin's settings for the tenant (as ``plugin_config``), but only if the tenant enabled
    the plugin: what a plugin's webhook or job acts with. None if disabled or not configured."""
    loaded = loaded_plugin(plugin_id, plugins)
    if not is_enabled(loaded, (await settings_rows(tenant_id)).get(plugin_id)):
        return None
    return await plugin_config(tenant_id, plugin_id, plugins)


async def is_plugin_enabled(tenant_id: UUID, plugin_id: str, plugins: Plugins | None = None) -> bool:
    """Whether the tenant enabled the plugin (its choice, else the plugin's default)."""
    loaded = loaded_plugin(plugin_id, plugins)
    return is_enabled(loaded, (await settings_rows(tenant_id)).get(plugin_id))
