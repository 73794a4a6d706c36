"""Erasure after inactivity, where the region's policy sets it (India: the Third Schedule's
large platforms, three years from the customer's last approach or use, DPDP Rule 8(1)-(2)).
The daily sweep (``core.privacy.notice_then_erase``) tells each inactive customer 48 hours
before (outbox), then files an erasure request for those still inactive, verified by the system
and approved: the existing erasure keeps what another law (tax) keeps. Activity is the customer
record's last change; a customer who comes back changes it, and a later notice starts over."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from seva_crm.core.jobs.schedule import DAY, periodic
from seva_crm.core.models import Customer
from seva_crm.core.privacy import notice_then_erase


async def _last_active(tenant_id: UUID, customer: Customer) -> datetime:
    return customer.updated_at


RULE = notice_then_erase.Rule(
    name="inactivity", policy_method="inactivity_erasure", key_prefix="privacy-inactivity",
    template="privacy_inactivity_notice", action="customer.inactivity_notice", last_active=_last_active,
    details="inactivity erasure ({citation})",
)


@periodic("privacy.inactivity_sweep", every_seconds=DAY)
async def sweep(now: datetime) -> dict[str, int]:
    """Notices sent and erasures filed, over every tenant an inactivity rule applies to."""
    return await notice_then_erase.sweep(RULE, now)
