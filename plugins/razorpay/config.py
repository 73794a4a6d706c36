"""A tenant's Razorpay credentials.

SEAM: ``razorpay_config`` reads an in-process registry (``register``) until the per-tenant plugin
settings service merges; at merge it is switched to the encrypted per-tenant settings (the
``RazorpaySettings`` model below, secrets decrypted on read). Nothing else reads credentials."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pydantic import BaseModel, Field, SecretStr

DEFAULT_BASE_URL = "https://api.razorpay.com/v1"


class RazorpaySettings(BaseModel):
    """Per-tenant settings (secret fields encrypted at rest, never returned by the API)."""

    key_id: str = Field(min_length=1, max_length=64)
    key_secret: SecretStr
    webhook_secret: SecretStr
    base_url: str = DEFAULT_BASE_URL


@dataclass(frozen=True)
class RazorpayConfig:
    key_id: str
    key_secret: SecretStr  # SecretStr: a config that reaches a log shows '**********'
    webhook_secret: SecretStr
    base_url: str = DEFAULT_BASE_URL

    @classmethod
    def of(cls, key_id: str, key_secret: str, webhook_secret: str, base_url: str = DEFAULT_BASE_URL) -> RazorpayConfig:
        return cls(key_id, SecretStr(key_secret), SecretStr(webhook_secret), base_url.rstrip("/"))


_registry: dict[UUID, RazorpayConfig] = {}


def register(tenant_id: UUID, config: RazorpayConfig | None) -> None:
    """Set (or with None, remove) a tenant's credentials. Until the settings service merges."""
    if config is None:
        _registry.pop(tenant_id, None)
    else:
        _registry[tenant_id] = config


async def razorpay_config(tenant_id: UUID | None) -> RazorpayConfig | None:
    """The tenant's Razorpay credentials, or None if it has not set Razorpay up.
    SEAM: switched to the encrypted per-tenant plugin settings at merge."""
    return _registry.get(tenant_id) if tenant_id else None
