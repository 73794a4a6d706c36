"""A tenant's catalogue of plans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from seva_crm.core.billing.money import MAX_TAX_RATE_BP
from seva_crm.core.common.enums import REGION_CURRENCY, BillingInterval, Currency
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError, NotFound
from seva_crm.core.models import Plan
from seva_crm.core.common.paging import SortKey, datetime_key
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.tax_ids import check_hsn_sac
from seva_crm.core.common.validation import require_text
from seva_crm.core.platform import audit

MAX_AMOUNT = 10**13  # minor units: far beyond any plan, well inside a 64-bit column

SORTS: dict[str, SortKey] = {
    "CREATED_AT_DESC": datetime_key("created_at", True),
    "NAME_ASC": SortKey("name", False),
}


def check_amount(value: Any, field: str, *, positive: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not (1 if positive else 0) <= value <= MAX_AMOUNT:
        raise DomainError.of(field, ErrorCode.INVALID, f"must be a whole number of minor units, {'1' if positive else '0'} or more")
    return value


def check_currency(value: Any, tenant: TenantScope, field: str = "currency") -> Currency:
    """The tenant's own currency (INR for India, BDT for Bangladesh) is the only one it bills in."""
    own = REGION_CURRENCY[tenant.region]
    currency = Currency(value or own)
    if currency is not own:
        raise DomainError.of(field, ErrorCode.INVALID, f"this tenant bills in {own.value} only")
    return currency


def check_tax_rate(value: Any, field: str = "taxRateBp") -> int:
    if not isinstance(value, int) or not 0 <= value <= MAX_TAX_RATE_BP:
        raise DomainError.of(field, ErrorCode.INVALID, "basis points between 0 and 10000 (1800 = 18%)")
    return value


async def create_plan(tenant: TenantScope, data: dict[str, Any]) -> Plan:
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    checks = {
        "name": lambda: require_text(data.get("name"), "name", 200),
        "amount": lambda: check_amount(data.get("amount"), "amount"),
        "tax_rate_bp": lambda: check_tax_rate(data.get("tax_rate_bp", 0)),
        "interval": lambda: BillingInterval(data["interval"]) if data.get("interval") else _required("interval"),
        "currency": lambda: check_currency(data.get("currency"), tenant),
        "hsn_sac": lambda: check_hsn_sac(data.get("hsn_sac")),
    }
    for key, check in checks.items():
        try:
            values[key] = check()
        except DomainError as exc:
            errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    async with in_transaction():
        plan = await Plan.create(tenant_id=tenant.id, active=data.get("active", True) is not False, **values)
        await audit.record(tenant.id, "plan.created", subject_type="plan", subject_id=plan.id,
                           details={"amount": plan.amount, "currency": plan.currency.value, "tax_rate_bp": plan.tax_rate_bp,
                                    "interval": plan.interval.value})
    return plan


UPDATABLE = {
    "name": lambda v: require_text(v, "name", 200),
    "amount": lambda v: check_amount(v, "amount"),
    "tax_rate_bp": lambda v: check_tax_rate(v),
    "active": lambda v: v is not False,
    "hsn_sac": lambda v: check_hsn_sac(v),
}


async def update_plan(tenant: TenantScope, plan_id: UUID | None, data: dict[str, Any]) -> Plan:
    """Rename, reprice, retax or (de)activate a plan. A new price applies from each
    subscription's next invoice; invoices already issued keep theirs. Audited with before and after."""
    changes: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, check in UPDATABLE.items():
        if data.get(key) is not None:
            try:
                changes[key] = check(data[key])
            except DomainError as exc:
                errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    async with in_transaction():
        plan = await Plan.select_for_update().get_or_none(id=plan_id, tenant_id=tenant.id) if plan_id else None
        if plan is None:
            raise NotFound("plan")
        before = {k: getattr(plan, k) for k in changes}
        changed = [k for k, v in changes.items() if before[k] != v]
        if changed:
            plan.update_from_dict({k: changes[k] for k in changed})
            await plan.save(update_fields=[*changed, "updated_at"])
            action = "plan.price_changed" if "amount" in changed or "tax_rate_bp" in changed else "plan.updated"
            await audit.record(tenant.id, action, subject_type="plan", subject_id=plan.id, changed=changed,
                               details={"before": {k: before[k] for k in changed}, "after": {k: changes[k] for k in changed},
                                        "currency": plan.currency.value})
    return plan


def _required(field: str):
    raise DomainError.of(field, ErrorCode.REQUIRED, "is required")


async def get_plan(tenant_id: UUID, plan_id: UUID | None, field: str = "id") -> Plan:
    plan = await Plan.get_or_none(id=plan_id, tenant_id=tenant_id) if plan_id else None
    if plan is None:
        raise NotFound("plan", field)
    return plan


@dataclass
class PlanFilter:
    active: bool | None = None


def plan_queryset(tenant_id: UUID, f: PlanFilter) -> QuerySet[Plan]:
    qs = Plan.filter(tenant_id=tenant_id)
    if f.active is not None:
        qs = qs.filter(active=f.active)
    return qs
