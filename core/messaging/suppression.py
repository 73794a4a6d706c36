"""The suppression list: email addresses that bounced for good, per tenant. The email channel
checks it before each send and adds an address when its server refuses it for good."""

from __future__ import annotations

from uuid import UUID

from tortoise.exceptions import IntegrityError

from seva_crm.core.common import audit
from seva_crm.core.models import EmailSuppression
from seva_crm.core.common.security import digest


def address_hash(address: str) -> str:
    return digest(address.strip().lower(), "email-address")


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
    await audit.record(tenant_id, "email.suppressed", subject_type="customer" if customer_id else "",
                       subject_id=customer_id or "", details={"reason": reason, "detail": detail[:200],
                                                              "message": str(message_id or "")})
    return True
