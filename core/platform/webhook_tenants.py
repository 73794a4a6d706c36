"""Which tenant an inbound webhook is for, from what the provider sends.

Providers name the tenant one of two ways: in the URL we gave them (the tenant's opaque id,
often with a per-tenant secret token, for providers that do not sign their callbacks), or in
the payload (an account id the tenant stored in the plugin's settings, such as WhatsApp's
phone_number_id). ``webhook_tenants`` answers both: the tenants that enabled the plugin,
configured it, and whose settings hold every value asked for (compared in constant time;
secrets too). The plugin then verifies the provider's signature with that tenant's secret.

Looking up by a setting uses an in-process index of the stored (non-secret) values. It is a
hint only, since each candidate's settings are read afresh and must still match, and is
rebuilt when a value is not in it or its candidates no longer match, at most every
``REBUILD_EVERY`` seconds (unknown values cannot make us scan on every request)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel, SecretStr

from seva_crm.core.common.ids import from_global_id
from seva_crm.core.models import PluginSettings
from seva_crm.core.platform.plugin_settings import is_enabled, load_settings, loaded_plugin, secret_fields

REBUILD_EVERY = 1.0  # seconds between index rebuilds caused by unknown or stale values


@dataclass(frozen=True)
class WebhookTenant:
    tenant_id: UUID
    settings: Any  # the plugin's settings model for the tenant, secrets decrypted


class _Index:
    """(plugin id, setting) -> stored value -> tenant ids, in the order they configured it."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], dict[str, list[UUID]]] = {}
        self.built_at: dict[tuple[str, str], float] = {}

    async def candidates(self, plugin_id: str, name: str, value: str, *, stale: bool = False) -> list[UUID]:
        key = (plugin_id, name)
        found = self.values.get(key, {})
        if (stale or value not in found) and time.monotonic() - self.built_at.get(key, float("-inf")) > REBUILD_EVERY:
            found = {}
            rows = await PluginSettings.filter(plugin_id=plugin_id).order_by("created_at").values_list("tenant_id", "values")
            for tenant_id, values in rows:
                if isinstance(values, dict) and values.get(name) not in (None, ""):
                    found.setdefault(str(values[name]), []).append(tenant_id)
            self.values[key], self.built_at[key] = found, time.monotonic()
        return found.get(value, [])

    def forget(self) -> None:
        self.values.clear()
        self.built_at.clear()


index = _Index()


def _equal(stored: Any, given: str) -> bool:
    if isinstance(stored, SecretStr):
        stored = stored.get_secret_value()
    if stored in (None, ""):
        return False
    return hmac.compare_digest(str(stored).encode(), given.encode())


async def _usable(plugin_id: str, tenant_id: UUID) -> BaseModel | None:
    """The tenant's settings if it enabled the plugin and configured it."""
    loaded = loaded_plugin(plugin_id)
    row = await PluginSettings.get_or_none(tenant_id=tenant_id, plugin_id=plugin_id)
    if row is None or not is_enabled(loaded, row):
        return None
    return load_settings(loaded, row)


async def webhook_tenants(plugin_id: str, *, tenant: str | None = None,
                          match: Mapping[str, str] | None = None) -> list[WebhookTenant]:
    """The tenants a webhook is for. ``tenant``: the opaque tenant id the URL carries; ``match``:
    setting name -> the value the request carries (e.g. ``{"webhook_token": token}`` or
    ``{"phone_number_id": id}``). Without ``tenant``, ``match`` must name a setting that is not a
    secret. Returns [] when no tenant matches: answer so as to reveal nothing."""
    match = dict(match or {})
    if tenant is not None:
        tenant_id = from_global_id(tenant, "Tenant")
        candidates = [tenant_id] if tenant_id is not None else []
        return await _matching(plugin_id, candidates, match)
    model = loaded_plugin(plugin_id).manifest.settings_model
    secrets = secret_fields(model) if model is not None else set()
    plain = [name for name in match if name not in secrets]
    if not plain:
        raise ValueError("find a tenant by its id in the URL, or by a setting that is not a secret")
    name = plain[0]
    for stale in (False, True):
        candidates = await index.candidates(plugin_id, name, match[name], stale=stale)
        found = await _matching(plugin_id, candidates, match)
        if found or not candidates:
            return found
    return []


async def _matching(plugin_id: str, candidates: list[UUID], match: dict[str, str]) -> list[WebhookTenant]:
    found = []
    for tenant_id in candidates:
        settings = await _usable(plugin_id, tenant_id)
        if settings is not None and all(_equal(getattr(settings, n, None), v) for n, v in match.items()):
            found.append(WebhookTenant(tenant_id, settings))
    return found
