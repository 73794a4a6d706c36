"""Erasure when the purpose is served (DPDP Act s.8(7)(a); Bangladesh s.13), where the tenant has
published how long it keeps a customer after their last service (the region policy's
``service_retention_days`` setting). The daily sweep finds customers whose service is done: at
least one service record, none still open (requested, in progress, ready), nothing owed (no open or
draft invoice), no live subscription, no consent in force for a purpose other than service, and
no change to them or their records for that long. Each is told 48 hours before
(``privacy_purpose_served_notice``: Rule 8(2) asks it of large platforms; Seva gives every customer
the chance to come back), then erased through an erasure request verified by the system (the sweep is
``core.privacy.notice_then_erase``, shared with the inactivity erasure), so what
another law keeps (paid invoices for GST or VAT) is kept, anonymised, until its own date."""

from __future__ import annotations

from datetime import datetime

from seva_crm.core.common.enums import InvoiceStatus, ServiceStatus, SubscriptionStatus
from seva_crm.core.jobs.schedule import DAY, periodic
from seva_crm.core.models import Consent, Customer, Invoice, ServiceRecord, Subscription
from seva_crm.core.privacy import notice_then_erase

OPEN_SERVICE = [ServiceStatus.REQUESTED.value, ServiceStatus.IN_PROGRESS.value, ServiceStatus.READY.value]
OWED = [InvoiceStatus.OPEN.value, InvoiceStatus.DRAFT.value]
LIVE = [SubscriptionStatus.TRIALING.value, SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PAST_DUE.value,
        SubscriptionStatus.SUSPENDED.value, SubscriptionStatus.PAUSED.value]


async def _served_since(tenant_id, customer: Customer) -> datetime | None:
    """When the customer's purpose was last served (their last change or their records'), or None
    while it is not served: a service open, money owed, a live subscription, consent beyond service."""
    records = ServiceRecord.filter(tenant_id=tenant_id, customer_id=customer.id)
    if not await records.exists() or await records.filter(status__in=OPEN_SERVICE).exists():
        return None
    if await Invoice.filter(tenant_id=tenant_id, customer_id=customer.id, status__in=OWED).exists():
        return None
    if await Subscription.filter(tenant_id=tenant_id, customer_id=customer.id, status__in=LIVE).exists():
        return None
    newest: dict[tuple[str, str | None], bool] = {}
    for row in await Consent.filter(tenant_id=tenant_id, customer_id=customer.id).order_by("created_at", "id"):
        newest[(row.purpose, row.channel)] = row.granted
    if any(granted and purpose != "service" for (purpose, _), granted in newest.items()):
        return None
    last = await records.order_by("-updated_at").first().values_list("updated_at", flat=True)
    return max(customer.updated_at, last) if last else customer.updated_at


RULE = notice_then_erase.Rule(
    name="purpose_served", policy_method="purpose_served_erasure", key_prefix="privacy-purpose-served",
    template="privacy_purpose_served_notice", action="customer.purpose_served_notice", last_active=_served_since,
    details="purpose served ({citation})",
)


@periodic("privacy.purpose_served_sweep", every_seconds=DAY)
async def sweep(now: datetime) -> dict[str, int]:
    """Notices sent and erasures filed, over every tenant that published a service retention period."""
    return await notice_then_erase.sweep(RULE, now)
