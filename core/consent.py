"""The minimal consent check the outbox needs. (The privacy work builds the full ledger.)

Consent rows are only ever added; the latest row for (customer, purpose, channel) or
(customer, purpose, any channel) is in force. No row means not granted."""

from __future__ import annotations

from uuid import UUID

from tortoise.expressions import Q

from core.channels import Purpose
from core.models import Consent


async def has_consent(tenant_id: UUID, customer_id: UUID, purpose: Purpose | str, channel: str) -> bool:
    latest = await (
        Consent.filter(Q(channel=channel) | Q(channel__isnull=True), tenant_id=tenant_id, customer_id=customer_id,
                       purpose=str(purpose))
        .order_by("-created_at", "-id").only("granted").first()
    )
    return bool(latest and latest.granted)


async def may_send(tenant_id: UUID, customer_id: UUID, purpose: Purpose | str, channel: str) -> bool:
    """Service messages need no consent; marketing needs it for the channel."""
    return Purpose(purpose) is Purpose.SERVICE or await has_consent(tenant_id, customer_id, purpose, channel)
