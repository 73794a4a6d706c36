"""Billing dates are the tenant's local calendar days: a bill due on the 1st is overdue from the
2nd in the tenant's timezone. Periodic work is given ``now`` explicitly (tests pass their own)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from seva_crm.core.models import Tenant
from seva_crm.core.common.security import utcnow


def local_date(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


async def tenant_today(tenant_id: UUID, now: datetime | None = None) -> date:
    tenant = await Tenant.get(id=tenant_id).only("id", "timezone")
    return local_date(tenant.timezone, now or utcnow())


async def todays(tenant_ids: set[UUID], now: datetime) -> dict[UUID, date]:
    """Each tenant's local date at ``now`` (one query)."""
    rows = await Tenant.filter(id__in=tenant_ids).values_list("id", "timezone") if tenant_ids else []
    return {tid: local_date(tz, now) for tid, tz in rows}
