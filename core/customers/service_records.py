"""Service records: what a centre did for a customer, its fee and where it stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from tortoise import connections
from tortoise.queryset import QuerySet

from seva_crm.core.platform import audit, events
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.storage.transactions import transaction
from seva_crm.core.customers.customers import ensure_not_erased, get_customer
from seva_crm.core.models import Customer, ServiceRecord
from seva_crm.core.common.enums import REGION_CURRENCY, Currency, ServiceStatus
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError, NotFound
from seva_crm.core.common.paging import SortKey, datetime_key
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.validation import require_text

S = ServiceStatus
TRANSITIONS: dict[ServiceStatus, set[ServiceStatus]] = {
    S.REQUESTED: {S.IN_PROGRESS, S.READY, S.CANCELLED},
    S.IN_PROGRESS: {S.READY, S.CANCELLED},
    S.READY: {S.DELIVERED, S.CANCELLED},
    S.DELIVERED: set(),
    S.CANCELLED: set(),
}

SORTS: dict[str, SortKey] = {
    "CREATED_AT_DESC": datetime_key("created_at", True),
    "CREATED_AT_ASC": datetime_key("created_at", False),
}


def clean(data: dict[str, Any], tenant: TenantScope, *, partial: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    if not partial or "service_name" in data:
        try:
            out["service_name"] = require_text(data.get("service_name"), "serviceName", 200)
        except DomainError as exc:
            errors.extend(exc.errors)
    if "fee_amount" in data:
        if data["fee_amount"] is None or data["fee_amount"] < 0:
            errors.append(FieldError("feeAmount", ErrorCode.INVALID, "must be zero or more minor units"))
        out["fee_amount"] = data["fee_amount"]
    if "currency" in data or not partial:
        out["currency"] = Currency(data.get("currency") or REGION_CURRENCY[tenant.region])
    for key, limit in (("reference_number", 100), ("notes", 10_000)):
        if key in data:
            out[key] = (data[key] or "").strip()[:limit]
    if "follow_up_on" in data:
        out["follow_up_on"] = data["follow_up_on"]
    if errors:
        raise DomainError(*errors)
    return out


async def create_service_record(tenant: TenantScope, customer_id: UUID | None, data: dict[str, Any]) -> ServiceRecord:
    values = clean(data, tenant)
    customer = await get_customer(tenant.id, customer_id, "customerId")
    ensure_not_erased(customer, "customerId")
    if customer.deleted_at is not None:
        raise DomainError.of("customerId", ErrorCode.INVALID, "customer is deleted; restore it first")
    status = data.get("status") or S.REQUESTED
    async with transaction():
        record = await ServiceRecord.create(tenant_id=tenant.id, customer_id=customer.id, status=status, **values)
        change_feed.record(tenant.id, ChangeType.SERVICE_RECORD, record.id, Op.CREATED)
        await events.emit(events.new_event(events.SERVICE_RECORD_CREATED, tenant.id, record.id, status=str(record.status)))
        await audit.record(tenant.id, "service_record.created", subject_type="customer", subject_id=customer.id,
                           changed=values, details={"service_record": str(record.id), "status": str(status)})
    return record


async def update_service_record(tenant: TenantScope, record_id: UUID | None, changes: dict[str, Any]) -> ServiceRecord:
    record = await get_service_record(tenant.id, record_id)
    ensure_not_erased(await Customer.get(id=record.customer_id), "id")
    values = clean(changes, tenant, partial=True)
    if (status := changes.get("status")) and status != record.status:
        if status not in TRANSITIONS[record.status]:
            raise DomainError.of(
                "status", ErrorCode.INVALID_TRANSITION, f"cannot move from {record.status.value} to {status.value}"
            )
        values["status"] = status
    if values:
        changed = [k for k, v in values.items() if getattr(record, k) != v]
        record.update_from_dict(values)
        async with transaction():
            await record.save(update_fields=[*values, "updated_at"])
            change_feed.record(tenant.id, ChangeType.SERVICE_RECORD, record.id, Op.UPDATED)
            await events.emit(events.new_event(events.SERVICE_RECORD_UPDATED, tenant.id, record.id, status=str(record.status),
                                               fields=sorted(values)))
            if changed:
                await audit.record(tenant.id, "service_record.updated", subject_type="customer", subject_id=record.customer_id,
                                   changed=changed, details={"service_record": str(record.id), "status": str(record.status)})
    return record


async def get_service_record(tenant_id: UUID, record_id: UUID | None) -> ServiceRecord:
    record = await ServiceRecord.get_or_none(id=record_id, tenant_id=tenant_id) if record_id else None
    if record is None:
        raise NotFound("service record")
    return record


@dataclass
class ServiceRecordFilter:
    customer_id: UUID | None = None
    statuses: list[ServiceStatus] = field(default_factory=list)
    follow_up_due_by: date | None = None  # follow-up on or before this date, work not finished


def service_record_queryset(tenant_id: UUID, f: ServiceRecordFilter) -> QuerySet[ServiceRecord]:
    qs = ServiceRecord.filter(tenant_id=tenant_id)
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    if f.statuses:
        qs = qs.filter(status__in=f.statuses)
    if f.follow_up_due_by:
        qs = qs.filter(
            follow_up_on__lte=f.follow_up_due_by, status__in=[S.REQUESTED, S.IN_PROGRESS, S.READY]
        )
    return qs


async def latest_for_customers(tenant_id: UUID, customer_ids: list[UUID], limit: int) -> dict[UUID, list[ServiceRecord]]:
    """Each customer's ``limit`` newest service records (created_at, id descending), in one query
    that reads at most ``limit`` index entries per customer however many records one has: a
    LATERAL join on PostgreSQL (the (tenant_id, customer_id, created_at) index, once per customer),
    ROW_NUMBER() over each customer's records on SQLite."""
    out: dict[UUID, list[ServiceRecord]] = {cid: [] for cid in customer_ids}
    if not customer_ids or limit <= 0:
        return out
    client = connections.get("default")
    columns = ServiceRecord._meta.db_fields
    listed = ", ".join(f'"{c}"' for c in columns)
    if client.capabilities.dialect == "postgres":
        sql = (f"SELECT r.* FROM unnest($2::uuid[]) AS c(id) CROSS JOIN LATERAL "
               f"(SELECT {listed} FROM \"service_record\" WHERE tenant_id = $1 AND customer_id = c.id "
               f"ORDER BY created_at DESC, id DESC LIMIT $3) AS r")
        values: list = [tenant_id, list(customer_ids), limit]
    else:
        marks = ", ".join("?" for _ in customer_ids)
        sql = (f"SELECT {listed} FROM (SELECT {listed}, ROW_NUMBER() OVER (PARTITION BY customer_id "
               f"ORDER BY created_at DESC, id DESC) AS rn FROM \"service_record\" WHERE tenant_id = ? AND customer_id IN ({marks})) "
               f"WHERE rn <= ? ORDER BY created_at DESC, id DESC")
        values = [str(tenant_id), *(str(c) for c in customer_ids), limit]
    _, rows = await client.execute_query(sql, values)
    for row in rows:
        record = ServiceRecord._init_from_db(**{c: row[c] for c in columns})
        out.setdefault(record.customer_id, []).append(record)
    return out
