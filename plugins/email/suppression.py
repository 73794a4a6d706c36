"""The suppression list: addresses that bounced for good, per tenant (``plugins.email.models``)."""

from __future__ import annotations

from uuid import UUID

from tortoise.exceptions import IntegrityError

from seva_crm.plugin_api import keyed_digest, record_audit
from seva_crm.plugins.email.models import EmailSuppression


def address_hash(address: str) -> str:
    return keyed_digest(address.strip().lower(), "email-address")


async def is_suppressed(tenant_id: UUID, address: str) -> bool:
    return await EmailSuppression.filter(tenant_id=tenant_id, address_hash=address_hash(address)).exists()


async def suppress(tenant_id: UUID, address: str, *, reason: str, detail: str = "", message_id: UUID | None = None,
                   customer_id: UUID | None = None) -> bool:
    """Suppress ``address`` for the tenant; False if it already was."""
    try:
        await EmailSuppression.create(tenant_id=tenant_id, address_hash=address_hash(address), reason=reason,
                                      detail=detail[:200], message_id=message_id)
    except IntegrityError:
        return False
    await record_audit(tenant_id, "email.suppressed", subject_type="customer" if customer_id else "",
                       subject_id=customer_id or "", details={"reason": reason, "detail": detail[:200],
                                                              "message": str(message_id or "")})
    return True
