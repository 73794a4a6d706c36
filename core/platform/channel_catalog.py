"""The notification channels the loaded plugins provide, by id, with their kind and plugin; and
the checks of channel ids and kinds that users give (a customer's preferred channel, a tenant's
channel order, template bindings, consent) against them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError
from seva_crm.core.platform.channels import MAX_CHANNEL_ID, channel_kind
from seva_crm.core.platform.plugins import Plugins, get_plugins
from seva_crm.core.platform.tenant_plugins import notification_channels

log = logging.getLogger("seva.plugins")


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    kind: str
    plugin_id: str
    adapter: Any


def usable_id(name: Any) -> bool:
    return isinstance(name, str) and 0 < len(name) <= MAX_CHANNEL_ID and name == name.strip()


def loaded_channels(plugins: Plugins | None = None) -> dict[str, ChannelInfo]:
    """Every loaded plugin's channels by id (the first loaded wins an id), whether or not any
    tenant enabled the plugin: what template bindings and consent entries may name."""
    found: dict[str, ChannelInfo] = {}
    for plugin_id, adapter in (plugins or get_plugins()).provided("seva_notification_channels"):
        if not usable_id(adapter.name):
            log.warning("plugin %s: channel id %r is unusable (1 to %d characters): ignored",
                        plugin_id, adapter.name, MAX_CHANNEL_ID)
            continue
        found.setdefault(adapter.name, ChannelInfo(adapter.name, channel_kind(adapter), plugin_id, adapter))
    return found


async def tenant_channels(tenant_id: UUID, plugins: Plugins | None = None) -> dict[str, ChannelInfo]:
    """The channels of the plugins the tenant enabled, by id (configured or not): what its
    customers' preferred channels and its channel order may name."""
    offers = await notification_channels(tenant_id, plugins)
    return {name: ChannelInfo(name, channel_kind(offer.adapter), offer.plugin_id, offer.adapter)
            for name, offer in offers.items() if usable_id(name)}


def _find(value: Any, available: Mapping[str, Any]) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value in available:
        return value
    folded = {name.casefold(): name for name in available}
    return folded.get(value.casefold())


def _listing(available: Mapping[str, Any]) -> str:
    if not available:
        return "no channel is available (enable a plugin that provides one)"
    return f"available channels: {', '.join(available)}"


def unknown_channel(field: str | None, value: Any, available: Mapping[str, Any]) -> FieldError:
    return FieldError(field, ErrorCode.INVALID, f"unknown channel {value!r}; {_listing(available)}")


def check_channel(value: Any, available: Mapping[str, Any], field: str | None) -> str:
    """The id of the channel ``value`` names among ``available`` (exactly, else ignoring case);
    a DomainError on ``field`` naming the available ids if none."""
    found = _find(value, available)
    if found is None:
        raise DomainError(unknown_channel(field, value, available))
    return found


def check_channel_order(values: Iterable[Any], available: Mapping[str, Any], field: str) -> list[str]:
    """A channel order: known ids, each once, at least one; every problem in one DomainError."""
    order: list[str] = []
    errors: list[FieldError] = []
    for value in values:
        found = _find(value, available)
        if found is None:
            errors.append(unknown_channel(field, value, available))
        elif found in order:
            errors.append(FieldError(field, ErrorCode.DUPLICATE, f"{found!r} is given twice"))
        else:
            order.append(found)
    if not order and not errors:
        errors.append(FieldError(field, ErrorCode.REQUIRED, f"name at least one channel; {_listing(available)}"))
    if errors:
        raise DomainError(*errors)
    return order


def check_kind(value: Any, available: Mapping[str, ChannelInfo], field: str | None) -> str:
    """The kind ``value`` names: a kind of one of ``available``, or a channel id (its kind);
    a DomainError on ``field`` naming the kinds and ids if neither. Consent is recorded per kind."""
    kinds = {info.kind.casefold(): info.kind for info in available.values()}
    if isinstance(value, str) and value.strip().casefold() in kinds:
        return kinds[value.strip().casefold()]
    found = _find(value, available)
    if found is None:
        listed = ", ".join(sorted(set(kinds.values()))) or "none"
        raise DomainError.of(field, ErrorCode.INVALID,
                             f"unknown channel or kind {value!r}; kinds: {listed}; {_listing(available)}")
    return available[found].kind
