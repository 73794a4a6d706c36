"""A tenant's Razorpay credentials, from its encrypted per-tenant plugin settings, with the
API's address from the instance's settings (SEVA_RAZORPAY_BASE_URL)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pydantic import SecretStr

from seva_crm.plugin_api import instance_settings, tenant_settings

DEFAULT_BASE_URL = "https://api.razorpay.com/v1"


@dataclass(frozen=True)
class RazorpayConfig:
    key_id: str
    key_secret: SecretStr  # SecretStr: a config that reaches a log shows '**********'
    webhook_secret: SecretStr
    base_url: str = DEFAULT_BASE_URL

    @classmethod
    def of(cls, key_id: str, key_secret: str, webhook_secret: str, base_url: str = DEFAULT_BASE_URL) -> RazorpayConfig:
        return cls(key_id, SecretStr(key_secret), SecretStr(webhook_secret), base_url.rstrip("/"))


async def razorpay_config(tenant_id: UUID | None) -> RazorpayConfig | None:
    """The tenant's Razorpay credentials (secrets decrypted), or None unless the tenant has
    enabled the plugin and configured it."""
    settings = await tenant_settings(tenant_id, "razorpay") if tenant_id is not None else None
    if settings is None:
        return None
    base_url = instance_settings("razorpay").base_url
    return RazorpayConfig(settings.key_id, settings.key_secret, settings.webhook_secret, base_url)
