"""Closing a tenant and purging it: data kept for a grace period (SEVA_TERMINATED_TENANT_GRACE_DAYS,
default 90), then deleted table by table; the audit log stays at least the minimum log
retention the tenant's policy requires (DPDP Rule 8(3): one year), then goes too."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from tortoise import Tortoise
from tortoise.expressions import Subquery
from tortoise.models import Model
from tortoise.transactions import in_transaction

from seva_crm.core.platform import audit, audit_checkpoints
from seva_crm.core.common.enums import TenantStatus
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.jobs.schedule import DAY, periodic
from seva_crm.core.models import AuditEvent, AuditHead, Tenant
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import get_settings

KEPT = {"AuditEvent", "AuditHead", "Tenant"}


async def close_tenant(tenant_id: UUID, confirm_name: str) -> Tenant:
    """The owner closes the tenant: sign-ins stop at once; data is purged after the grace period."""
    tenant = await Tenant.get(id=tenant_id)
    if (confirm_name or "").strip() != tenant.name:
        raise DomainError.of("confirmName", ErrorCode.INVALID, "type the tenant's name exactly to confirm")
    if tenant.terminated_at is None:
        now = utcnow()
        purge_after = now + timedelta(days=get_settings().terminated_tenant_grace_days)
        async with in_transaction():
            await Tenant.filter(id=tenant.id).update(status=TenantStatus.TERMINATED, terminated_at=now, updated_at=now)
            await audit.record(tenant.id, "tenant.closed", subject_type="tenant", subject_id=tenant.id,
                               changed=["status", "terminated_at"], details={"purge_after": purge_after.isoformat()})
        tenant.status, tenant.terminated_at = TenantStatus.TERMINATED, now
    return tenant


def tenant_tables() -> list[tuple[type[Model], str]]:
    """(model, filter path to the tenant id) for every table holding a tenant's data, children
    before parents so deleting in this order never trips a foreign key. Found from the models,
    so tables added by other areas (billing, outbox, plugins) are purged too."""
    models = [m for app in Tortoise.apps.values() for m in app.values() if m.__name__ not in KEPT]
    scoped: dict[type[Model], str] = {}
    for m in models:
        if "tenant" in m._meta.fk_fields:
            scoped[m] = "tenant_id"
    for m in models:
        if m in scoped:
            continue
        for fk in m._meta.fk_fields:
            related = m._meta.fields_map[fk].related_model
            if related in scoped and scoped[related] == "tenant_id":
                scoped[m] = f"{fk}_id"  # rows reached through a tenant-owned parent (refresh tokens of staff)
                break
    ordered: list[type[Model]] = []

    def visit(m: type[Model], seen: set) -> None:
        if m in ordered or m in seen:
            return
        seen.add(m)
        for other in scoped:  # whoever points at m goes first
            if other is not m and any(other._meta.fields_map[f].related_model is m for f in other._meta.fk_fields):
                visit(other, seen)
        ordered.append(m)

    for m in sorted(scoped, key=lambda x: x._meta.db_table):
        visit(m, set())
    return [(m, scoped[m]) for m in ordered]


def _query(model: type[Model], path: str, tenant_id: UUID):
    if path == "tenant_id":
        return model.filter(tenant_id=tenant_id)
    fk = path.removesuffix("_id")
    parent = model._meta.fields_map[fk].related_model
    return model.filter(**{f"{path}__in": Subquery(parent.filter(tenant_id=tenant_id).values("id"))})


@dataclass
class PurgeItem:
    tenant_id: UUID
    stage: str  # "data": the tenant's tables, "logs": its audit log after the log retention
    counts: dict[str, int] = field(default_factory=dict)


@periodic("retention.purge", every_seconds=DAY, dry_run=False)  # closed tenants after their grace
async def purge_terminated_tenants(now: datetime, dry_run: bool = False) -> list[PurgeItem]:
    """Purge tenants terminated more than the grace period ago (counts per table; nothing is
    deleted with ``dry_run``). Their audit logs go only once the minimum log retention the
    policy requires has also passed since the purge."""
    grace = timedelta(days=get_settings().terminated_tenant_grace_days)
    report: list[PurgeItem] = []
    for tenant in await Tenant.filter(status=TenantStatus.TERMINATED, terminated_at__lte=now - grace).order_by("terminated_at"):
        item = PurgeItem(tenant.id, "data")
        for model, path in tenant_tables():
            count = await _query(model, path, tenant.id).count()
            if count:
                item.counts[model._meta.db_table] = count
        if item.counts:
            report.append(item)
            if not dry_run:
                await _purge_data(tenant, item, now)
            continue
        logs = await _logs_due(tenant, now)
        if logs:
            report.append(logs)
            if not dry_run:
                await AuditEvent.filter(chain=str(tenant.id)).delete()
                await AuditHead.filter(chain=str(tenant.id)).delete()
                audit_checkpoints.retire(str(tenant.id), now)  # deleted on purpose: verify stops expecting it
                await Tenant.filter(id=tenant.id).delete()
                await audit.record(None, "tenant.logs_purged", subject_type="tenant", subject_id=tenant.id,
                                   details={"events": logs.counts.get("audit_event", 0)})
    return report


async def _purge_data(tenant: Tenant, item: PurgeItem, now: datetime) -> None:
    keep_logs = (await tenant_policy(tenant.id)).minimum_log_retention()
    async with in_transaction():
        for model, path in tenant_tables():
            await _query(model, path, tenant.id).delete()
        await audit.record(tenant.id, "tenant.purged", subject_type="tenant", subject_id=tenant.id,
                           details={"counts": item.counts, "logs_kept_until": (now + keep_logs.value).isoformat(),
                                    "citation": keep_logs.citation})
    shutil.rmtree(get_settings().data_dir / "privacy-exports" / str(tenant.id), ignore_errors=True)


async def _logs_due(tenant: Tenant, now: datetime) -> PurgeItem | None:
    purged = await AuditEvent.filter(chain=str(tenant.id), action="tenant.purged").order_by("-seq").first()
    if purged is None or datetime.fromisoformat(purged.details["logs_kept_until"]) > now:
        return None
    return PurgeItem(tenant.id, "logs", {"audit_event": await AuditEvent.filter(chain=str(tenant.id)).count()})
