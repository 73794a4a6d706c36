"""The breach register: an incident, the notifications the policy says are owed (to whom, by
when, under which rule), and reminders before each deadline. ``breach_reminders`` is what the
scheduler calls (``privacy.breach_reminders``, hourly); ``seva privacy sweep`` runs it by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from seva_crm.core.platform import audit
from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.jobs.schedule import HOUR, periodic
from seva_crm.core.models import BreachIncident
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.privacy import notify
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.validation import require_text
from seva_crm.core.storage.transactions import transaction

REMIND_BEFORE = timedelta(hours=24)


async def report_breach(
    tenant: TenantScope, title: str, aware_at: datetime | None = None, *, description: str = "",
    occurred_at: datetime | None = None, affected_count: int = 0, data_categories: list[str] | None = None,
    created_by: UUID | None = None,
) -> BreachIncident:
    """Record an incident (no personal data in it) and the notifications owed, with deadlines
    counted from when the tenant became aware of it."""
    title = require_text(title, "title", 200)
    aware_at = aware_at or utcnow()
    if aware_at > utcnow() + timedelta(minutes=5):
        raise DomainError.of("awareAt", ErrorCode.INVALID, "cannot be in the future")
    if affected_count < 0:
        raise DomainError.of("affectedCount", ErrorCode.INVALID, "must be zero or more")
    policy = await tenant_policy(tenant.id)
    obligations = [
        {"key": o.key, "recipient": o.recipient, "what": o.what, "citation": o.citation,
         "within_hours": o.within.total_seconds() / 3600 if o.within is not None else None,
         "due_at": (aware_at + (o.within or timedelta(0))).isoformat(), "done_at": None, "reminders": []}
        for o in policy.breach_obligations()
    ]
    async with transaction():  # the incident and its alerts commit together (sent after the commit)
        incident = await BreachIncident.create(
            tenant_id=tenant.id, title=title, description=(description or "").strip()[:10_000], aware_at=aware_at,
            occurred_at=occurred_at, affected_count=affected_count, data_categories=list(data_categories or []),
            obligations=obligations, created_by=created_by,
        )
        await audit.record(tenant.id, "breach.reported", subject_type="breach", subject_id=incident.id,
                           details={"affected_count": affected_count, "owed": [(o["key"], o["due_at"]) for o in obligations]})
        await notify.notify_admins(tenant.id, "breach.reported", "breach", incident.id,
                                   {"breach": str(incident.id), "owed": [{"key": o["key"], "due_at": o["due_at"],
                                                                          "citation": o["citation"]} for o in obligations]})
    return incident


async def get_breach(tenant_id: UUID, breach_id: UUID | None) -> BreachIncident:
    row = await BreachIncident.get_or_none(id=breach_id, tenant_id=tenant_id) if breach_id else None
    if row is None:
        raise NotFound("breach")
    return row


async def record_notification(tenant: TenantScope, breach_id: UUID | None, key: str, at: datetime | None = None) -> BreachIncident:
    """Mark one owed notification as given; the incident closes when all are."""
    incident = await get_breach(tenant.id, breach_id)
    obligations = [dict(o) for o in incident.obligations]
    match = next((o for o in obligations if o["key"] == key), None)
    if match is None:
        raise DomainError.of("key", ErrorCode.NOT_FOUND, f"no notification {key!r} is owed for this breach")
    if match["done_at"] is None:
        match["done_at"] = (at or utcnow()).isoformat()
        incident.obligations = obligations
        if all(o["done_at"] for o in obligations):
            incident.closed_at = utcnow()
        async with in_transaction():
            await incident.save(update_fields=["obligations", "closed_at", "updated_at"])
            await audit.record(tenant.id, "breach.notified", subject_type="breach", subject_id=incident.id,
                               details={"key": key, "late": match["done_at"] > match["due_at"]})
    return incident


@dataclass(frozen=True)
class Reminder:
    tenant_id: UUID
    breach_id: UUID
    key: str
    stage: str  # "due_soon" (within REMIND_BEFORE of the deadline) or "overdue"
    due_at: datetime
    citation: str


@periodic("privacy.breach_reminders", every_seconds=HOUR)  # notifications owed
async def breach_reminders(now: datetime) -> list[Reminder]:
    """Remind the tenant's admins of each notification still owed: once when its deadline is
    near and once when it has passed. Returns the reminders given this run."""
    given: list[Reminder] = []
    for incident in await BreachIncident.filter(closed_at__isnull=True).order_by("aware_at"):
        obligations = [dict(o) for o in incident.obligations]
        fresh = []
        for o in obligations:
            if o["done_at"]:
                continue
            due = datetime.fromisoformat(o["due_at"])
            stage = "overdue" if now >= due else "due_soon" if due - now <= REMIND_BEFORE else None
            if stage is None or stage in o["reminders"]:
                continue
            o["reminders"] = [*o["reminders"], stage]
            fresh.append(Reminder(incident.tenant_id, incident.id, o["key"], stage, due, o["citation"]))
        if not fresh:
            continue
        async with transaction():  # marked as reminded only with its reminders queued
            claimed = await BreachIncident.filter(id=incident.id, updated_at=incident.updated_at).update(
                obligations=obligations, updated_at=utcnow())
            if not claimed:
                continue  # another scheduler reminded meanwhile
            for r in fresh:
                await notify.notify_admins(r.tenant_id, "breach.reminder", "breach", r.breach_id,
                                           {"breach": str(r.breach_id), "key": r.key, "stage": r.stage,
                                            "due_at": r.due_at.isoformat(), "citation": r.citation})
        given.extend(fresh)
    return given


def obligation_view(o: dict[str, Any]) -> dict[str, Any]:
    return {**o, "due_at": datetime.fromisoformat(o["due_at"]),
            "done_at": datetime.fromisoformat(o["done_at"]) if o["done_at"] else None}
