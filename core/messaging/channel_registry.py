"""Which notification channels a tenant can send through, and with which plugin settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from seva_crm.core.platform.channels import NotificationChannel
from seva_crm.core.platform.plugins import get_plugins
from seva_crm.core.platform.tenant_plugins import notification_channels, plugin_config


@dataclass(frozen=True)
class ChannelBinding:
    plugin_id: str
    adapter: NotificationChannel
    settings: Any  # the plugin's validated settings for this tenant, secrets decrypted (or None)


async def channels_for_tenant(tenant_id: UUID) -> dict[str, ChannelBinding]:
    """The channels of the plugins ``tenant_id`` enabled, by name. A plugin that has a settings
    model but no settings for this tenant offers nothing (it could not send), unless its adapter's
    optional ``settings_when_unconfigured()`` returns settings to use instead."""
    plugins = get_plugins()
    offers = await notification_channels(tenant_id, plugins)
    configs: dict[str, Any] = {}
    for pid in {offer.plugin_id for offer in offers.values()}:
        configs[pid] = await plugin_config(tenant_id, pid, plugins)
    bindings: dict[str, ChannelBinding] = {}
    for name, offer in offers.items():
        settings = configs[offer.plugin_id]
        if settings is None and plugins.loaded[offer.plugin_id].manifest.settings_model is not None:
            # e.g. email through the instance's SMTP server for tenants without their own
            unconfigured = getattr(offer.adapter, "settings_when_unconfigured", None)
            settings = unconfigured() if unconfigured else None
            if settings is None:
                continue
        bindings[name] = ChannelBinding(offer.plugin_id, offer.adapter, settings)
    return bindings
