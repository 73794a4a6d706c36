"""The one sweep behind the erasures the system starts itself (after inactivity, once the purpose
is served): tell each customer the rule reaches 48 hours before, then file an erasure request,
verified by the system and approved, for those the rule still reaches. The existing erasure keeps
what another law (tax) keeps. A customer who changes meanwhile (comes back, is served again)
starts over: the notice is keyed by when they were last active, so a later one is a new notice.

Each rule (``Rule``) says which region policy method gives its period (a ``Cited[timedelta |
None]``: None, not swept), when a customer was last active for it (None: not a candidate), and
names its template, audit action and the ``filed_via`` of its requests."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from seva_crm.core.common.enums import RequestStatus, RequestType
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.models import AuditEvent, Customer, Message, PrivacyRequest, Tenant
from seva_crm.core.platform import audit
from seva_crm.core.privacy import notify
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.storage.transactions import transaction

log = logging.getLogger("seva.privacy")
NOTICE = timedelta(hours=48)
BATCH = 500


@dataclass(frozen=True)
class Rule:
    name: str  # the requests' filed_via, and the sweep's name in the log
    policy_method: str  # the region policy's method giving the period (optional in a policy)
    key_prefix: str  # of the notice's outbox idempotency key
    template: str  # the notice
    action: str  # the audit action of the notice
    last_active: Callable[[UUID, Customer], Awaitable[datetime | None]]  # None: the rule does not reach them
    details: str  # the request's details, with {citation}


async def sweep(rule: Rule, now: datetime) -> dict[str, int]:
    """Notices sent and erasures filed under ``rule``, over every live tenant it applies to."""
    counts = {"noticed": 0, "erasing": 0}
    for tenant in await Tenant.filter(terminated_at__isnull=True):
        ask = getattr(await tenant_policy(tenant.id), rule.policy_method, None)
        period = ask() if ask is not None else None
        if period is None or period.value is None:
            continue
        scope = TenantScope(tenant.id, tenant.region)
        candidates = await Customer.filter(tenant_id=tenant.id, erased_at__isnull=True, deleted_at__isnull=True,
                                           updated_at__lt=now - period.value + NOTICE).order_by("updated_at").limit(BATCH)
        for customer in candidates:
            since = await rule.last_active(tenant.id, customer)
            if since is None or since >= now - period.value + NOTICE:
                continue
            key = f"{rule.key_prefix}:{customer.id}:{int(since.timestamp())}"
            told = await _told(rule, tenant.id, customer.id, key)
            if told is None:
                deadline = await notify.local_datetime(tenant.id, now + NOTICE, customer.language.value)
                async with transaction():
                    await notify.queue_to_customer(tenant.id, customer.id, rule.template,
                                                   {"deadline": deadline, "citation": period.citation}, key=key)
                    await audit.record(tenant.id, rule.action, subject_type="customer", subject_id=customer.id,
                                       details={"erase_after": (now + NOTICE).isoformat(), "citation": period.citation},
                                       actor=audit.SYSTEM)
                counts["noticed"] += 1
            elif told <= now and since < now - period.value:
                if await file_erasure(scope, customer, rule.name, rule.details.format(citation=period.citation), period.citation):
                    counts["erasing"] += 1
    if counts["noticed"] or counts["erasing"]:
        log.info("%s sweep: %d told, %d erasures filed", rule.name, counts["noticed"], counts["erasing"])
    return counts


async def _told(rule: Rule, tenant_id: UUID, customer_id: UUID, key: str) -> datetime | None:
    """When the erasure the customer was told of may happen; None if not told since they were last active."""
    if not await Message.exists(tenant_id=tenant_id, idempotency_key=key):
        return None
    event = await AuditEvent.filter(tenant_id=tenant_id, action=rule.action, subject_type="customer",
                                    subject_id=str(customer_id)).order_by("-seq").first()
    return datetime.fromisoformat(event.details["erase_after"]) if event else None


async def file_erasure(scope: TenantScope, customer: Customer, filed_via: str, details: str, citation: str) -> bool:
    """File, verify (by the system) and approve an erasure of ``customer``; False if one is open already."""
    from seva_crm.core.privacy import requests

    open_states = [s.value for s in RequestStatus if not s.is_closed]
    if await PrivacyRequest.filter(customer_id=customer.id, kind=RequestType.ERASURE.value, status__in=open_states).exists():
        return False
    token = audit.set_actor(audit.SYSTEM)
    try:
        request = await requests.create_request(scope, customer.id, RequestType.ERASURE, filed_via=filed_via, details=details)
        await requests.transition(request, RequestStatus.IDENTITY_VERIFIED, details={"method": "system", "rule": citation},
                                  verification_method="system")
        await requests.approve(scope, request.id)
    finally:
        audit.reset_actor(token)
    return True
