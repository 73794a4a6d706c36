"""Erasure when the purpose is served (DPDP Act s.8(7)(a); Bangladesh s.13), where the tenant has
published how long it keeps a customer after their last service (the region policy's
``service_retention_days`` setting). The daily sweep finds customers whose service is done: at
least one service record, none still open (requested, in progress, ready), nothing owed (no open or
draft invoice), no live subscription, no consent in force for a purpose other than service, and
no change to them or their records for that long. Each is told 48 hours before
(``privacy_purpose_served_notice``: Rule 8(2) asks it of large platforms; Seva gives every customer
the chance to come back), then erased through an erasure request verified by the system, so what
another law keeps (paid invoices for GST or VAT) is kept, anonymised, until its own date."""

from __future__ import annotations

import logging
from datetime import datetime

from seva_crm.core.common.enums import InvoiceStatus, ServiceStatus, SubscriptionStatus
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.jobs.schedule import DAY, periodic
from seva_crm.core.models import AuditEvent, Consent, Customer, Invoice, Message, ServiceRecord, Subscription, Tenant
from seva_crm.core.platform import audit
from seva_crm.core.privacy import notify
from seva_crm.core.privacy.inactivity import BATCH, NOTICE, _file_erasure
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.storage.transactions import transaction

log = logging.getLogger("seva.privacy")
OPEN_SERVICE = [ServiceStatus.REQUESTED.value, ServiceStatus.IN_PROGRESS.value, ServiceStatus.READY.value]
OWED = [InvoiceStatus.OPEN.value, InvoiceStatus.DRAFT.value]
LIVE = [SubscriptionStatus.TRIALING.value, SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PAST_DUE.value,
        SubscriptionStatus.SUSPENDED.value, SubscriptionStatus.PAUSED.value]


def _key(customer_id, since: datetime) -> str:
    return f"privacy-purpose-served:{customer_id}:{int(since.timestamp())}"


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


@periodic("privacy.purpose_served_sweep", every_seconds=DAY)
async def sweep(now: datetime) -> dict[str, int]:
    """Notices sent and erasures filed, over every tenant that published a service retention period."""
    counts = {"noticed": 0, "erasing": 0}
    for tenant in await Tenant.filter(terminated_at__isnull=True):
        ask = getattr(await tenant_policy(tenant.id), "purpose_served_erasure", None)
        rule = ask() if ask is not None else None
        if rule is None or rule.value is None:
            continue
        scope = TenantScope(tenant.id, tenant.region)
        candidates = await Customer.filter(tenant_id=tenant.id, erased_at__isnull=True, deleted_at__isnull=True,
                                           updated_at__lt=now - rule.value + NOTICE).order_by("updated_at").limit(BATCH)
        for customer in candidates:
            since = await _served_since(tenant.id, customer)
            if since is None or since >= now - rule.value + NOTICE:
                continue
            told = await _told(tenant.id, customer.id, since)
            if told is None:
                deadline = await notify.local_datetime(tenant.id, now + NOTICE, customer.language.value)
                async with transaction():
                    await notify.queue_to_customer(tenant.id, customer.id, "privacy_purpose_served_notice",
                                                   {"deadline": deadline, "citation": rule.citation},
                                                   key=_key(customer.id, since))
                    await audit.record(tenant.id, "customer.purpose_served_notice", subject_type="customer",
                                       subject_id=customer.id, actor=audit.SYSTEM,
                                       details={"erase_after": (now + NOTICE).isoformat(), "citation": rule.citation})
                counts["noticed"] += 1
            elif told <= now and since < now - rule.value:
                if await _file_erasure(scope, customer, rule.citation, filed_via="purpose_served",
                                       details=f"purpose served ({rule.citation})"):
                    counts["erasing"] += 1
    if counts["noticed"] or counts["erasing"]:
        log.info("purpose-served sweep: %d told, %d erasures filed", counts["noticed"], counts["erasing"])
    return counts


async def _told(tenant_id, customer_id, since: datetime) -> datetime | None:
    """When the erasure the customer was told of may happen; None if not told since the purpose was last served."""
    if not await Message.exists(tenant_id=tenant_id, idempotency_key=_key(customer_id, since)):
        return None
    event = await AuditEvent.filter(tenant_id=tenant_id, action="customer.purpose_served_notice", subject_type="customer",
                                    subject_id=str(customer_id)).order_by("-seq").first()
    return datetime.fromisoformat(event.details["erase_after"]) if event else None
