"""A tenant's bKash credentials, from its encrypted per-tenant plugin settings, with the API's
address and timeout from the instance's settings (SEVA_BKASH_BASE_URL, SEVA_BKASH_TIMEOUT_SECONDS)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pydantic import SecretStr

from seva_crm.plugin_api import PayLinks, instance_settings, tenant_settings

PLUGIN = "bkash"
LINKS = PayLinks(PLUGIN)  # our pay link and callback addresses (plugin_api.PayLinks)


@dataclass(frozen=True)
class BkashConfig:
    app_key: str
    app_secret: SecretStr  # SecretStr: a config that reaches a log shows '**********'
    username: str
    password: SecretStr
    base_url: str
    timeout: float = 30.0

    @classmethod
    def of(cls, app_key: str, app_secret: str, username: str, password: str, base_url: str, timeout: float = 30.0) -> BkashConfig:
        return cls(app_key, SecretStr(app_secret), username, SecretStr(password), base_url.rstrip("/"), timeout)


def config_from(settings) -> BkashConfig:
    """The config of a tenant's settings (as ``tenant_settings`` or ``webhook_tenants`` give them)."""
    instance = instance_settings(PLUGIN)
    return BkashConfig(settings.app_key, settings.app_secret, settings.username, settings.password,
                       instance.base_url.rstrip("/"), instance.timeout_seconds)


async def bkash_config(tenant_id: UUID | None) -> BkashConfig | None:
    """The tenant's bKash credentials (secrets decrypted), or None unless the tenant has enabled
    the plugin and configured it."""
    settings = await tenant_settings(tenant_id, PLUGIN) if tenant_id is not None else None
    return config_from(settings) if settings is not None else None
