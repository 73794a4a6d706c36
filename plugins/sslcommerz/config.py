"""A tenant's SSLCommerz store credentials, from its encrypted per-tenant plugin settings, with
the address and timeout from the instance's settings (SEVA_SSLCOMMERZ_*)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pydantic import SecretStr

from seva_crm.plugin_api import PayLinks, instance_settings, tenant_settings

PLUGIN = "sslcommerz"
LINKS = PayLinks(PLUGIN)  # our pay link and callback addresses (plugin_api.PayLinks)


@dataclass(frozen=True)
class SslcommerzConfig:
    store_id: str
    store_passwd: SecretStr  # SecretStr: a config that reaches a log shows '**********'
    base_url: str
    timeout: float = 30.0

    @classmethod
    def of(cls, store_id: str, store_passwd: str, base_url: str, timeout: float = 30.0) -> SslcommerzConfig:
        return cls(store_id, SecretStr(store_passwd), base_url.rstrip("/"), timeout)


def config_from(settings) -> SslcommerzConfig:
    instance = instance_settings(PLUGIN)
    return SslcommerzConfig(settings.store_id, settings.store_passwd, instance.base_url.rstrip("/"), instance.timeout_seconds)


async def sslcommerz_config(tenant_id: UUID | None) -> SslcommerzConfig | None:
    """The tenant's store (password decrypted), or None unless it enabled and configured the plugin."""
    settings = await tenant_settings(tenant_id, PLUGIN) if tenant_id is not None else None
    return config_from(settings) if settings is not None else None
