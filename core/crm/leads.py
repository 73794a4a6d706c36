"""Leads: people who may become customers, moving through the tenant's ordered pipeline stages
(core.crm.settings.lead_stages), with a source, an owner, an expected value and a next action.
Converting a lead makes it a customer (or links it to one already known by its phone) and keeps
its history: the lead points at the customer and its notes become the customer's first note."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from seva_crm.core.common.enums import REGION_CURRENCY, Currency
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError, NotFound
from seva_crm.core.common.paging import SortKey, datetime_key
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.validation import normalize_email, normalize_phone, require_text
from seva_crm.core.crm import settings
from seva_crm.core.customers import customers
from seva_crm.core.models import CustomerNote, Lead, User
from seva_crm.core.platform import audit, events
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.storage.transactions import transaction

SORTS: dict[str, SortKey] = {
    "CREATED_AT_DESC": datetime_key("created_at", True),
    "NEXT_ACTION_AT_ASC": datetime_key("next_action_at", False),
}
NOT_PERSONAL = ("stage", "source", "value_amount", "currency", "owner_id", "next_action_at")


async def _clean(tenant: TenantScope, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: list[FieldError] = []

    def check(key: str, fn) -> None:
        if key in data:
            try:
                out[key] = fn(data[key])
            except DomainError as exc:
                errors.extend(exc.errors)

    if not partial:
        data = {"name": "", **data}
    check("name", lambda v: require_text(v, "name", 200))
    check("phone", lambda v: normalize_phone(v, tenant.region) if v and v.strip() else None)
    check("email", lambda v: normalize_email(v) if v and v.strip() else None)
    check("source", lambda v: (v or "").strip().lower()[:50])
    check("next_action", lambda v: (v or "").strip()[:500])
    check("notes", lambda v: (v or "")[:10_000])
    if "next_action_at" in data:
        out["next_action_at"] = data["next_action_at"]
    if "value_amount" in data:
        if data["value_amount"] is None or data["value_amount"] < 0:
            errors.append(FieldError("valueAmount", ErrorCode.INVALID, "must be zero or more minor units"))
        out["value_amount"] = data["value_amount"] or 0
    if "currency" in data or not partial:
        out["currency"] = Currency(data.get("currency") or REGION_CURRENCY[tenant.region])
    stages = await settings.lead_stages(tenant.id)
    if data.get("stage") or not partial:
        stage = (data.get("stage") or stages[0]).strip().lower()
        if stage not in stages:
            errors.append(FieldError("stage", ErrorCode.INVALID, f"one of the pipeline's stages: {', '.join(stages)}"))
        out["stage"] = stage
    if data.get("owner_id"):
        if not await User.filter(id=data["owner_id"], tenant_id=tenant.id, is_active=True).exists():
            errors.append(FieldError("ownerId", ErrorCode.NOT_FOUND, "staff member not found"))
        out["owner_id"] = data["owner_id"]
    elif "owner_id" in data:
        out["owner_id"] = None
    if errors:
        raise DomainError(*errors)
    return out


def _audit_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if k in NOT_PERSONAL else audit.personal(v)) for k, v in values.items()}


async def create_lead(tenant: TenantScope, data: dict[str, Any]) -> Lead:
    values = await _clean(tenant, data, partial=False)
    async with transaction():
        lead = await Lead.create(tenant_id=tenant.id, **values)
        await audit.record(tenant.id, "lead.created", subject_type="lead", subject_id=lead.id, changed=list(values),
                           details={"stage": lead.stage})
        await events.emit(events.new_event(events.LEAD_CREATED, tenant.id, lead.id, stage=lead.stage))
        change_feed.record(tenant.id, ChangeType.LEAD, lead.id, Op.CREATED)
    return lead


async def get_lead(tenant_id: UUID, lead_id: UUID | None) -> Lead:
    lead = await Lead.get_or_none(id=lead_id, tenant_id=tenant_id) if lead_id else None
    if lead is None:
        raise NotFound("lead")
    return lead


async def update_lead(tenant: TenantScope, lead_id: UUID | None, changes: dict[str, Any]) -> Lead:
    lead = await get_lead(tenant.id, lead_id)
    values = await _clean(tenant, changes, partial=True)
    changed = [k for k, v in values.items() if getattr(lead, k) != v]
    if not changed:
        return lead
    async with transaction():
        before = {k: getattr(lead, k) for k in changed}
        lead.update_from_dict(values)
        await lead.save(update_fields=[*values, "updated_at"])
        await audit.record(tenant.id, "lead.updated", subject_type="lead", subject_id=lead.id, changed=changed,
                           details={"before": _audit_values(before), "after": _audit_values({k: values[k] for k in changed})})
        await events.emit(events.new_event(events.LEAD_UPDATED, tenant.id, lead.id, fields=sorted(changed), stage=lead.stage))
        change_feed.record(tenant.id, ChangeType.LEAD, lead.id, Op.UPDATED)
    return lead


async def convert_lead(tenant: TenantScope, lead_id: UUID | None, customer_id: UUID | None = None) -> Lead:
    """Make the lead a customer: a new one from its name, phone and email, or ``customer_id``, an
    existing one (a phone already taken names the customer who has it: pass that id)."""
    lead = await get_lead(tenant.id, lead_id)
    if lead.customer_id:
        raise DomainError.of("id", ErrorCode.INVALID, "this lead was already converted")
    async with transaction():
        if customer_id:
            customer = await customers.get_customer(tenant.id, customer_id, "customerId")
        else:
            customer = await customers.create_customer(
                tenant, {"name": lead.name, "phone": lead.phone, "email": lead.email, "tags": ["lead"]})
        if lead.notes.strip():
            note = await CustomerNote.create(tenant_id=tenant.id, customer_id=customer.id,
                                             body=f"From lead ({lead.source or 'no source'}): {lead.notes}")
            change_feed.record(tenant.id, ChangeType.NOTE, note.id, Op.CREATED)
        lead.customer_id, lead.converted_at = customer.id, utcnow()
        await lead.save(update_fields=["customer_id", "converted_at", "updated_at"])
        await audit.record(tenant.id, "lead.converted", subject_type="lead", subject_id=lead.id, changed=["customer"],
                           details={"customer": str(customer.id)})
        await events.emit(events.new_event(events.LEAD_CONVERTED, tenant.id, lead.id, customer_id=str(customer.id)))
        change_feed.record(tenant.id, ChangeType.LEAD, lead.id, Op.UPDATED)
    return lead


async def pipeline(tenant_id: UUID) -> list[dict[str, Any]]:
    """Per stage, in the pipeline's order (then any stage no longer in it), the count of leads not
    yet converted and their expected value per currency."""
    rows = await (Lead.filter(tenant_id=tenant_id, customer_id__isnull=True).annotate(count=Count("id"), total=Sum("value_amount"))
                  .group_by("stage", "currency").values("stage", "currency", "count", "total"))
    stages = await settings.lead_stages(tenant_id)
    out = {s: {"stage": s, "count": 0, "totals": {}} for s in stages}
    for row in rows:
        entry = out.setdefault(row["stage"], {"stage": row["stage"], "count": 0, "totals": {}})
        entry["count"] += row["count"]
        entry["totals"][str(row["currency"])] = int(row["total"] or 0)
    return list(out.values())


@dataclass
class LeadFilter:
    stages: list[str] = field(default_factory=list)
    owner_id: UUID | None = None
    open_only: bool = False  # not converted


def lead_queryset(tenant_id: UUID, f: LeadFilter) -> QuerySet[Lead]:
    qs = Lead.filter(tenant_id=tenant_id)
    if f.stages:
        qs = qs.filter(stage__in=[s.strip().lower() for s in f.stages])
    if f.owner_id:
        qs = qs.filter(owner_id=f.owner_id)
    if f.open_only:
        qs = qs.filter(customer_id__isnull=True)
    return qs

