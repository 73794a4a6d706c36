"""Closing a tenant and purging it: data kept for a grace period (SEVA_TERMINATED_TENANT_GRACE_DAYS,
default 90), then deleted table by table; the audit log stays at least the minimum log
retention the tenant's policy requires (DPDP Rule 8(3): one year), then goes too."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

from tortoise import Tortoise
from tortoise.expressions import Subquery
from tortoise.models import Model
from tortoise.transactions import in_transaction

from seva_crm.core.platform import audit, audit_checkpoints
from seva_crm.core.common.enums import TenantStatus
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.jobs.schedule import DAY, periodic
from seva_crm.core.models import AuditEvent, AuditHead, Customer, Plan, Subscription, Tenant
from seva_crm.core.platform.plugin_types import Disposition, RecordCategory, RecordRef, RetentionDecision
from seva_crm.core.privacy.erasure import erase_core
from seva_crm.core.privacy.sources import all_sources
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import get_settings

KEPT = {"AuditEvent", "AuditHead", "Tenant"}
# Tables of records tax law keeps (GST 72 months, VAT 5 years): a closed tenant's rows there are
# anonymised and kept until their date (legal holds), with the customer stubs and plans they
# point at; every other table of the tenant is deleted at the purge.
HELD = {"Customer", "ServiceRecord", "Invoice", "InvoiceLine", "Payment", "Refund", "PaymentLink", "Subscription", "Plan"}
HOLD_TABLES = {"ServiceRecord", "Invoice", "InvoiceLine", "Payment", "Refund", "PaymentLink", "Subscription"}


class LegalHold:
    """The tenant's policy as a closure applies it: tax records (TRANSACTION) as the law decides
    (kept, anonymised, until their date), customer rows anonymised, everything else erased."""

    def __init__(self, policy) -> None:
        self.policy = policy

    def retention(self, record: RecordRef, today: date) -> RetentionDecision:
        if record.category is RecordCategory.TRANSACTION:
            return self.policy.retention(record, today)
        if record.category is RecordCategory.PROFILE:
            return RetentionDecision(Disposition.ANONYMISE, "kept only as the stub of records under a legal hold", "")
        return RetentionDecision(Disposition.ERASE, "the tenant closed", "")


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


async def reopen_tenant(tenant_id: UUID) -> Tenant:
    """Undo a closure during the grace period (the owner changed their mind): sign-ins work again.
    Refused once the tenant's data was purged."""
    tenant = await Tenant.get(id=tenant_id)
    if tenant.terminated_at is None:
        raise DomainError.of("tenant", ErrorCode.INVALID_TRANSITION, "this tenant is not closed")
    if await _last_purge(tenant) is not None:
        raise DomainError.of("tenant", ErrorCode.INVALID_TRANSITION, "the grace period is over: the tenant's data was purged")
    now = utcnow()
    async with in_transaction():
        await Tenant.filter(id=tenant.id).update(status=TenantStatus.ACTIVE, terminated_at=None, updated_at=now)
        await audit.record(tenant.id, "tenant.reopened", subject_type="tenant", subject_id=tenant.id,
                           changed=["status", "terminated_at"], details={"closed_at": tenant.terminated_at.isoformat()})
    tenant.status, tenant.terminated_at = TenantStatus.ACTIVE, None
    return tenant


async def was_purged(tenant: Tenant) -> bool:
    """The closed tenant's grace period is over: its data was purged (only legal holds are left)."""
    return await _last_purge(tenant) is not None


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
        if await _last_purge(tenant) is not None:  # purged already: release the holds whose date passed, then the logs
            released = await _release_holds(tenant, now, dry_run)
            if released.counts:
                report.append(released)
            if await _held_rows(tenant):
                continue
            logs = await _logs_due(tenant, now)
            if logs:
                report.append(logs)
                if not dry_run:
                    await _purge_logs(tenant, logs, now)
            continue
        item = PurgeItem(tenant.id, "data")
        for model, path in tenant_tables():
            count = await _query(model, path, tenant.id).count()
            if count:
                item.counts[model._meta.db_table] = count
        report.append(item)
        if not dry_run:
            await _purge_data(tenant, item, now)
    return report


async def _purge_data(tenant: Tenant, item: PurgeItem, now: datetime) -> None:
    """Every customer erased under the legal hold (tax records kept, anonymised, with the
    person's details removed from their text), then every other table of the tenant deleted."""
    policy = await tenant_policy(tenant.id)
    keep_logs = policy.minimum_log_retention()
    async with in_transaction():
        await _erase_customers(tenant, LegalHold(policy), now.date())
        for model, path in tenant_tables():
            if model.__name__ not in HELD:
                await _query(model, path, tenant.id).delete()
        held = await _prune_unheld(tenant)
        await audit.record(tenant.id, "tenant.purged", subject_type="tenant", subject_id=tenant.id,
                           details={"counts": item.counts, "held": held, "logs_kept_until": (now + keep_logs.value).isoformat(),
                                    "citation": keep_logs.citation})
    for folder in ("privacy-exports", "tenant-exports"):
        shutil.rmtree(get_settings().data_dir / folder / str(tenant.id), ignore_errors=True)


async def _erase_customers(tenant: Tenant, hold: LegalHold, today: date) -> None:
    for customer_id in await Customer.filter(tenant_id=tenant.id).values_list("id", flat=True):
        await erase_core(tenant.id, customer_id, hold, today)


async def _prune_unheld(tenant: Tenant) -> dict[str, int]:
    """Delete the customer stubs and plans no held record points at; the held rows per table."""
    models = {m.__name__: (m, path) for m, path in tenant_tables()}
    pointing = [models[n][0] for n in ("ServiceRecord", "Invoice", "Payment", "Subscription")]
    stubs = Customer.filter(tenant_id=tenant.id)
    for model in pointing:
        stubs = stubs.exclude(id__in=Subquery(model.filter(tenant_id=tenant.id).values("customer_id")))
    await stubs.delete()
    await Plan.filter(tenant_id=tenant.id).exclude(
        id__in=Subquery(Subscription.filter(tenant_id=tenant.id).values("plan_id"))).delete()
    held = {}
    for name in sorted(HELD):
        model, path = models[name]
        if count := await _query(model, path, tenant.id).count():
            held[model._meta.db_table] = count
    return held


async def _held_rows(tenant: Tenant) -> int:
    models = {m.__name__: (m, path) for m, path in tenant_tables()}
    return sum([await _query(models[n][0], models[n][1], tenant.id).count() for n in HOLD_TABLES])


async def _release_holds(tenant: Tenant, now: datetime, dry_run: bool) -> PurgeItem:
    """Erase the held records whose date has passed (the closure's hold re-applied today)."""
    item = PurgeItem(tenant.id, "holds")
    if not await _held_rows(tenant):
        return item
    hold = LegalHold(await tenant_policy(tenant.id))
    today = now.date()
    for customer_id in await Customer.filter(tenant_id=tenant.id).values_list("id", flat=True):
        for source in all_sources():
            due = [r for r in await source.plan(tenant.id, customer_id)
                   if hold.retention(r, today).disposition is Disposition.ERASE and r.category is RecordCategory.TRANSACTION]
            if due:
                item.counts[source.table] = item.counts.get(source.table, 0) + len(due)
    if item.counts and not dry_run:
        async with in_transaction():
            await _erase_customers(tenant, hold, today)
            await _prune_unheld(tenant)
            await audit.record(tenant.id, "tenant.holds_released", subject_type="tenant", subject_id=tenant.id,
                               details={"counts": item.counts})
    return item


async def _purge_logs(tenant: Tenant, logs: PurgeItem, now: datetime) -> None:
    for model, path in tenant_tables():  # the last stubs and plans
        await _query(model, path, tenant.id).delete()
    await AuditEvent.filter(chain=str(tenant.id)).delete()
    await AuditHead.filter(chain=str(tenant.id)).delete()
    audit_checkpoints.retire(str(tenant.id), now)  # deleted on purpose: verify stops expecting it
    await Tenant.filter(id=tenant.id).delete()
    await audit.record(None, "tenant.logs_purged", subject_type="tenant", subject_id=tenant.id,
                       details={"events": logs.counts.get("audit_event", 0)})


async def _last_purge(tenant: Tenant) -> AuditEvent | None:
    return await AuditEvent.filter(chain=str(tenant.id), action="tenant.purged").order_by("-seq").first()


async def _logs_due(tenant: Tenant, now: datetime) -> PurgeItem | None:
    purged = await _last_purge(tenant)
    if purged is None or datetime.fromisoformat(purged.details["logs_kept_until"]) > now:
        return None
    return PurgeItem(tenant.id, "logs", {"audit_event": await AuditEvent.filter(chain=str(tenant.id)).count()})
