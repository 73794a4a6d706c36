"""A tenant's catalogue of plans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from tortoise.queryset import QuerySet

from seva_crm.core.billing.money import MAX_TAX_RATE_BP
from seva_crm.core.common.enums import REGION_CURRENCY, BillingInterval, Currency
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError, NotFound
from seva_crm.core.models import Plan
from seva_crm.core.common.paging import SortKey, datetime_key
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.validation import require_text

MAX_AMOUNT = 10**13  # minor units: far beyond any plan, well inside a 64-bit column

SORTS: dict[str, SortKey] = {
    "CREATED_AT_DESC": datetime_key("created_at", True),
    "NAME_ASC": SortKey("name", False),
}


def check_amount(value: Any, field: str, *, positive: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not (1 if positive else 0) <= value <= MAX_AMOUNT:
        raise DomainError.of(field, ErrorCode.INVALID, f"must be a whole number of minor units, {'1' if positive else '0'} or more")
    return value


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
        "currency": lambda: Currency(data.get("currency") or REGION_CURRENCY[tenant.region]),
    }
    for key, check in checks.items():
        try:
            values[key] = check()
        except DomainError as exc:
            errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    return await Plan.create(tenant_id=tenant.id, active=data.get("active", True) is not False, **values)


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
