"""Which notification channels a tenant can send through, and with which plugin settings; and the
tenant's channel order (the channels tried after a customer's preferred one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from seva_crm.core.platform import audit
from seva_crm.core.common.errors import NotFound
from seva_crm.core.models import Tenant
from seva_crm.core.platform.channel_catalog import ChannelInfo, check_channel_order, tenant_channels, usable_id
from seva_crm.core.platform.channels import NotificationChannel, channel_kind
from seva_crm.core.platform.plugins import get_plugins
from seva_crm.core.platform.tenant_plugins import notification_channels, plugin_config


@dataclass(frozen=True)
class ChannelBinding:
    plugin_id: str
    adapter: NotificationChannel
    settings: Any  # the plugin's validated settings for this tenant, secrets decrypted (or None)

    @property
    def kind(self) -> str:
        return channel_kind(self.adapter)


async def channels_for_tenant(tenant_id: UUID) -> dict[str, ChannelBinding]:
    """The channels of the plugins ``tenant_id`` enabled, by name. A plugin that has a settings
    model but no settings for this tenant offers nothing (it could not send), unless its adapter's
    optional ``settings_when_unconfigured()`` returns settings to use instead."""
    plugins = get_plugins()
    offers = {name: offer for name, offer in (await notification_channels(tenant_id, plugins)).items() if usable_id(name)}
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


async def channel_of_kind(tenant_id: UUID, kind: str) -> tuple[str, ChannelBinding] | None:
    """The tenant's channel of ``kind`` that can send now: the first in its channel order, else
    the first loaded; None if it has none."""
    bindings = {name: b for name, b in (await channels_for_tenant(tenant_id)).items() if b.kind == kind}
    if not bindings:
        return None
    order = (await Tenant.get(id=tenant_id).only("id", "channel_fallback")).channel_fallback or []
    name = next((n for n in order if n in bindings), next(iter(bindings)))
    return name, bindings[name]


@dataclass(frozen=True)
class ChannelOrder:
    available: list[ChannelInfo]  # the channels of the tenant's enabled plugins, in load order
    order: list[str]  # channel ids tried after a customer's preferred channel, in turn


async def _order_of(tenant_id: UUID) -> list[str]:
    tenant = await Tenant.get_or_none(id=tenant_id).only("id", "channel_fallback")
    if tenant is None:
        raise NotFound("tenant", "tenant")
    return list(tenant.channel_fallback or [])


async def channel_order(tenant_id: UUID) -> ChannelOrder:
    order = await _order_of(tenant_id)
    return ChannelOrder(list((await tenant_channels(tenant_id)).values()), order)


async def set_channel_order(tenant_id: UUID, channels: list[str]) -> ChannelOrder:
    """Set the order the outbox tries channels in (after a customer's preferred one). Each id
    must be a channel of a plugin the tenant enabled; audited with its actor."""
    await _order_of(tenant_id)
    available = await tenant_channels(tenant_id)
    order = check_channel_order(channels, available, "channels")
    async with in_transaction():
        tenant = await Tenant.filter(id=tenant_id).select_for_update().only("id", "channel_fallback").get()
        before = list(tenant.channel_fallback or [])
        if before != order:
            await Tenant.filter(id=tenant_id).update(channel_fallback=order)
            await audit.record(tenant_id, "tenant.channel_order_updated", subject_type="tenant", subject_id=tenant_id,
                               changed=["channel_fallback"], details={"before": before, "after": order})
    return ChannelOrder(list(available.values()), order)
