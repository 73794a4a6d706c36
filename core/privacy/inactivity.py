"""Erasure after inactivity, where the region's policy sets it (India: the Third Schedule's
large platforms, three years from the customer's last approach or use, DPDP Rule 8(1)-(2)).
The daily sweep tells each inactive customer 48 hours before (outbox), then files an erasure
request for those still inactive, verified by the system and approved: the existing erasure
keeps what another law (tax) keeps. Activity is the customer record's last change; a customer
who comes back changes it, and a later notice starts over."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from seva_crm.core.common.enums import RequestStatus, RequestType
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.jobs.schedule import DAY, periodic
from seva_crm.core.models import AuditEvent, Customer, Message, PrivacyRequest, Tenant
from seva_crm.core.platform import audit
from seva_crm.core.privacy import notify
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.storage.transactions import transaction

log = logging.getLogger("seva.privacy")
NOTICE = timedelta(hours=48)
BATCH = 500


def _key(customer: Customer) -> str:
    return f"privacy-inactivity:{customer.id}:{int(customer.updated_at.timestamp())}"


@periodic("privacy.inactivity_sweep", every_seconds=DAY)
async def sweep(now: datetime) -> dict[str, int]:
    """Notices sent and erasures filed, over every tenant an inactivity rule applies to."""
    counts = {"noticed": 0, "erasing": 0}
    for tenant in await Tenant.filter(terminated_at__isnull=True):
        ask = getattr(await tenant_policy(tenant.id), "inactivity_erasure", None)  # optional in a region policy
        rule = ask() if ask is not None else None
        if rule is None or rule.value is None:
            continue
        scope = TenantScope(tenant.id, tenant.region)
        idle = await Customer.filter(tenant_id=tenant.id, erased_at__isnull=True, deleted_at__isnull=True,
                                     updated_at__lt=now - rule.value + NOTICE).order_by("updated_at").limit(BATCH)
        for customer in idle:
            notice = await _notice_of(tenant.id, customer)
            if notice is None:
                deadline = await notify.local_datetime(tenant.id, now + NOTICE, customer.language.value)
                async with transaction():
                    await notify.queue_to_customer(tenant.id, customer.id, "privacy_inactivity_notice",
                                                   {"deadline": deadline, "citation": rule.citation}, key=_key(customer))
                    await audit.record(tenant.id, "customer.inactivity_notice", subject_type="customer",
                                       subject_id=customer.id, details={"erase_after": (now + NOTICE).isoformat(),
                                                                        "citation": rule.citation}, actor=audit.SYSTEM)
                counts["noticed"] += 1
            elif notice <= now and customer.updated_at < now - rule.value:
                if await _file_erasure(scope, customer, rule.citation):
                    counts["erasing"] += 1
    return counts


async def _notice_of(tenant_id, customer: Customer) -> datetime | None:
    """When the erasure the customer was told of may happen; None if they were not told since
    they were last active."""
    if not await Message.exists(tenant_id=tenant_id, idempotency_key=_key(customer)):
        return None
    event = await AuditEvent.filter(tenant_id=tenant_id, action="customer.inactivity_notice", subject_type="customer",
                                    subject_id=str(customer.id)).order_by("-seq").first()
    return datetime.fromisoformat(event.details["erase_after"]) if event else None


async def _file_erasure(scope: TenantScope, customer: Customer, citation: str, *, filed_via: str = "inactivity",
                        details: str = "") -> bool:
    from seva_crm.core.privacy import requests

    open_states = [s.value for s in RequestStatus if not s.is_closed]
    if await PrivacyRequest.filter(customer_id=customer.id, kind=RequestType.ERASURE.value, status__in=open_states).exists():
        return False
    token = audit.set_actor(audit.SYSTEM)
    try:
        request = await requests.create_request(scope, customer.id, RequestType.ERASURE, filed_via=filed_via,
                                                details=details or f"inactivity erasure ({citation})")
        await requests.transition(request, RequestStatus.IDENTITY_VERIFIED, details={"method": "system", "rule": citation},
                                  verification_method="system")
        await requests.approve(scope, request.id)
    finally:
        audit.reset_actor(token)
    return True
