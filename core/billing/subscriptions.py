"""Subscriptions and their state machine.

    trialing --> active | past_due | cancelled | expired
    active ----> past_due | paused | cancelled | expired
    past_due --> active | suspended | cancelled | expired
    suspended -> active | cancelled
    paused ----> active | cancelled
    cancelled, expired: final

Every status change goes through ``transition``, which refuses any other move with
INVALID_TRANSITION. Pause: only an active subscription pauses; while paused nothing renews and
nothing becomes past due; resume moves the period end and the renewal date forward by the whole
days spent paused, so the customer loses none of the period already paid for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from tortoise.queryset import QuerySet

from seva_crm.core.billing import events, notify
from seva_crm.core.billing.clock import local_date, tenant_today
from seva_crm.core.billing.invoices import LineDraft, issue_invoice
from seva_crm.core.billing.money import days, period_end
from seva_crm.core.billing.plans import get_plan
from seva_crm.core.billing.settings import billing_settings
from seva_crm.core.common import localise
from seva_crm.core.customers import customers
from seva_crm.core.customers.customers import get_customer
from seva_crm.core.common.enums import BillingInterval, InvoiceStatus, SubscriptionStatus
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError, NotFound
from seva_crm.core.models import Customer, Invoice, Plan, Subscription, Tenant
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.storage.transactions import transaction
from seva_crm.core.common.paging import SortKey, datetime_key
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow
from seva_crm.core.platform import audit

S = SubscriptionStatus
TRANSITIONS: dict[SubscriptionStatus, set[SubscriptionStatus]] = {
    S.TRIALING: {S.ACTIVE, S.PAST_DUE, S.CANCELLED, S.EXPIRED},
    S.ACTIVE: {S.PAST_DUE, S.PAUSED, S.CANCELLED, S.EXPIRED},
    S.PAST_DUE: {S.ACTIVE, S.SUSPENDED, S.CANCELLED, S.EXPIRED},
    S.SUSPENDED: {S.ACTIVE, S.CANCELLED},
    S.PAUSED: {S.ACTIVE, S.CANCELLED},
    S.CANCELLED: set(),
    S.EXPIRED: set(),
}
RENEWING = (S.TRIALING, S.ACTIVE, S.PAST_DUE)  # statuses whose periods roll on and get invoiced
MAX_TRIAL_DAYS = 365

SORTS: dict[str, SortKey] = {
    "CREATED_AT_DESC": datetime_key("created_at", True),
    "CREATED_AT_ASC": datetime_key("created_at", False),
}


def transition(sub: Subscription, to: SubscriptionStatus, field: str = "id") -> SubscriptionStatus:
    """Check and apply a status change in memory (the caller saves); returns the old status."""
    if to not in TRANSITIONS[sub.status]:
        raise DomainError.of(field, ErrorCode.INVALID_TRANSITION,
                             f"subscription cannot move from {sub.status.value} to {to.value}")
    old, sub.status = sub.status, to
    return old


def can_move(sub: Subscription, to: SubscriptionStatus) -> bool:
    return to in TRANSITIONS[sub.status]


async def create_subscription(tenant: TenantScope, data: dict[str, Any]) -> Subscription:
    """Starts today (or on ``start_on``). Without a trial it is active at once with the first
    period's invoice open, due on the start day; with ``trial_days`` it is trialing, and the
    first invoice comes with the first renewal."""
    errors: list[FieldError] = []
    customer = plan = None
    try:
        customer = await get_customer(tenant.id, data.get("customer_id"), "customerId")
        if customer.deleted_at is not None:
            errors.append(FieldError("customerId", ErrorCode.INVALID, "customer is deleted; restore it first"))
    except DomainError as exc:
        errors.extend(exc.errors)
    try:
        plan = await get_plan(tenant.id, data.get("plan_id"), "planId")
        if not plan.active:
            errors.append(FieldError("planId", ErrorCode.INVALID, "plan is not active"))
    except DomainError as exc:
        errors.extend(exc.errors)
    today = await tenant_today(tenant.id)
    start = data.get("start_on") or today
    if start < today:
        errors.append(FieldError("startOn", ErrorCode.INVALID, "cannot be before today"))
    trial_days = data.get("trial_days") or 0
    if not 0 <= trial_days <= MAX_TRIAL_DAYS:
        errors.append(FieldError("trialDays", ErrorCode.INVALID, f"between 0 and {MAX_TRIAL_DAYS}"))
    settings = await billing_settings(tenant.id)
    grace = data.get("grace_days")
    grace = settings.grace_days if grace is None else grace
    if not 0 <= grace <= 365:
        errors.append(FieldError("graceDays", ErrorCode.INVALID, "between 0 and 365"))
    if errors:
        raise DomainError(*errors)
    if plan.interval is BillingInterval.ONE_TIME and trial_days:
        raise DomainError.of("trialDays", ErrorCode.INVALID, "a one-time plan has no trial")
    one_time = plan.interval is BillingInterval.ONE_TIME
    auto_renew = not one_time and data.get("auto_renew", True) is not False
    end = start + days(trial_days) if trial_days else period_end(start, plan.interval)
    async with transaction():
        sub = await Subscription.create(
            tenant_id=tenant.id, customer_id=customer.id, plan_id=plan.id,
            status=S.TRIALING if trial_days else S.ACTIVE, started_on=start, current_period_start=start,
            current_period_end=end, next_renewal_on=end if auto_renew else None, auto_renew=auto_renew,
            grace_days=grace,
        )
        change_feed.record(tenant.id, ChangeType.SUBSCRIPTION, sub.id, Op.CREATED)
        if not trial_days:
            await _invoice_period(sub, plan, start, end, issued_on=today, due_on=start)
        await audit_change(sub, "subscription.created", plan=str(plan.id), amount=plan.amount, currency=plan.currency.value)
        await events.emit(events.SUBSCRIPTION_CHANGED, tenant.id, sub.id, status=sub.status.value)
    return sub


async def audit_change(sub: Subscription, action: str, **details: Any) -> None:
    await audit.record(sub.tenant_id, action, subject_type="subscription", subject_id=sub.id, changed=["status"],
                       details={"status": sub.status.value, **details})


async def _invoice_period(sub: Subscription, plan: Plan, start: date, end: date, *, issued_on: date, due_on: date) -> Invoice:
    label = (plan.name if plan.interval is BillingInterval.ONE_TIME
             else f"{plan.name} ({localise.day(start)} to {localise.day(end - days(1))})")
    line = LineDraft(description=label[:300], quantity=1, unit_amount=plan.amount, tax_rate_bp=plan.tax_rate_bp,
                     hsn_sac=plan.hsn_sac)
    return await issue_invoice(sub.tenant_id, sub.customer_id, plan.currency, [line], issued_on=issued_on, due_on=due_on,
                               subscription_id=sub.id, period=(start, end))


async def cancel_subscription(tenant: TenantScope, sub_id: UUID | None) -> Subscription:
    """Ends it now: no more renewals. Invoices already issued stay as they are (void them if
    nothing is owed)."""
    sub = await get_subscription(tenant.id, sub_id)
    transition(sub, S.CANCELLED)
    sub.cancelled_at, sub.auto_renew, sub.next_renewal_on = utcnow(), False, None
    async with transaction():
        await sub.save(update_fields=["status", "cancelled_at", "auto_renew", "next_renewal_on", "updated_at"])
        change_feed.record(tenant.id, ChangeType.SUBSCRIPTION, sub.id, Op.UPDATED)
        await audit_change(sub, "subscription.cancelled")
        await events.emit(events.SUBSCRIPTION_CHANGED, tenant.id, sub.id, status=sub.status.value)
    return sub


async def delete_customer(tenant: TenantScope, customer_id: UUID | None, *, cancel_subscriptions: bool = False) -> Customer:
    """Soft-delete a customer; with ``cancel_subscriptions`` their live subscriptions are
    cancelled in the same transaction (without it, live subscriptions refuse the deletion)."""
    async with transaction():
        cancelled: list[Subscription] = []
        if cancel_subscriptions and customer_id:
            live = await Subscription.filter(tenant_id=tenant.id, customer_id=customer_id,
                                             status__in=customers.LIVE_SUBSCRIPTIONS).select_for_update()
            for sub in live:
                transition(sub, S.CANCELLED)
                sub.cancelled_at, sub.auto_renew, sub.next_renewal_on = utcnow(), False, None
                await sub.save(update_fields=["status", "cancelled_at", "auto_renew", "next_renewal_on", "updated_at"])
                change_feed.record(tenant.id, ChangeType.SUBSCRIPTION, sub.id, Op.UPDATED)
                await audit_change(sub, "subscription.cancelled", reason="customer deleted")
                cancelled.append(sub)
        deleted = await customers.delete_customer(tenant, customer_id)
        for sub in cancelled:  # after the deletion: a status rule tells no deleted customer
            await events.emit(events.SUBSCRIPTION_CHANGED, tenant.id, sub.id, status=sub.status.value)
        return deleted


async def pause_subscription(tenant: TenantScope, sub_id: UUID | None) -> Subscription:
    sub = await get_subscription(tenant.id, sub_id)
    now = utcnow()
    transition(sub, S.PAUSED)
    sub.paused_at = now
    async with transaction():
        await sub.save(update_fields=["status", "paused_at", "updated_at"])
        change_feed.record(tenant.id, ChangeType.SUBSCRIPTION, sub.id, Op.UPDATED)
        # a renewal invoice issued early for the coming period is withdrawn: that period moves
        today = await tenant_today(tenant.id, now)
        early = Invoice.filter(tenant_id=tenant.id, subscription_id=sub.id, status=InvoiceStatus.OPEN, amount_paid=0,
                               period_start__gt=today)
        for invoice_id in await early.values_list("id", flat=True):
            change_feed.record(tenant.id, ChangeType.INVOICE, invoice_id, Op.UPDATED)
        await early.update(status=InvoiceStatus.VOID, voided_at=now)
        await audit_change(sub, "subscription.paused")
        await events.emit(events.SUBSCRIPTION_CHANGED, tenant.id, sub.id, status=sub.status.value)
    return sub


async def resume_subscription(tenant: TenantScope, sub_id: UUID | None) -> Subscription:
    sub = await get_subscription(tenant.id, sub_id)
    transition(sub, S.ACTIVE)
    today = await tenant_today(tenant.id)
    paused_days = 0
    if sub.paused_at is not None:
        tz = (await Tenant.get(id=tenant.id).only("id", "timezone")).timezone
        paused_days = max((today - local_date(tz, sub.paused_at)).days, 0)
    sub.current_period_end += days(paused_days)
    if sub.next_renewal_on is not None:
        sub.next_renewal_on += days(paused_days)
    sub.paused_at = None
    async with transaction():
        await sub.save(update_fields=["status", "paused_at", "current_period_end", "next_renewal_on", "updated_at"])
        change_feed.record(tenant.id, ChangeType.SUBSCRIPTION, sub.id, Op.UPDATED)
        await audit_change(sub, "subscription.resumed", paused_days=paused_days)
        await events.emit(events.SUBSCRIPTION_CHANGED, tenant.id, sub.id, status=sub.status.value, paused_days=paused_days)
    return sub


async def reactivate_after_payment(tenant_id: UUID, sub_id: UUID, now: datetime) -> Subscription | None:
    """An invoice of this subscription was just paid: a trialing, past-due or suspended
    subscription with nothing else overdue becomes active. After a suspension whose period has
    run out, a fresh period starts today with its own invoice."""
    sub = await Subscription.get_or_none(id=sub_id, tenant_id=tenant_id)
    if sub is None or sub.status not in (S.TRIALING, S.PAST_DUE, S.SUSPENDED):
        return None
    today = await tenant_today(tenant_id, now)
    if await Invoice.filter(tenant_id=tenant_id, subscription_id=sub.id, status=InvoiceStatus.OPEN, due_on__lt=today).exists():
        return None  # still owes an overdue invoice
    if sub.status is S.TRIALING and sub.current_period_end > today:
        return None  # paid ahead: the trial runs on and becomes active when it ends
    old = transition(sub, S.ACTIVE)
    async with transaction():
        change_feed.record(tenant_id, ChangeType.SUBSCRIPTION, sub.id, Op.UPDATED)
        if old is S.SUSPENDED and sub.current_period_end <= today and sub.auto_renew:
            plan = await Plan.get(id=sub.plan_id)
            end = period_end(today, plan.interval)
            sub.current_period_start, sub.current_period_end, sub.next_renewal_on = today, end, end
            await _invoice_period(sub, plan, today, end, issued_on=today, due_on=today)
        await sub.save(update_fields=["status", "current_period_start", "current_period_end", "next_renewal_on", "updated_at"])
        if old is S.SUSPENDED:  # the customer and staff were told of the suspension: tell them it is over
            stamp = now.isoformat()
            await notify.send_subscription_notice(sub, notify.REACTIVATED, None, stamp)
            await notify.alert_staff(tenant_id, f"subscription {sub.id} is active again after a payment", f"reactivated:{sub.id}:{stamp}")
            await audit.record(tenant_id, "subscription.reactivated", subject_type="subscription", subject_id=sub.id,
                               changed=["status"], details={"previous": old.value})
        await events.emit(events.SUBSCRIPTION_REACTIVATED, tenant_id, sub.id, status=sub.status.value, previous=old.value)
    return sub


async def apply_gateway_status(tenant_id: UUID, gateway: str, gateway_subscription_id: str, to: SubscriptionStatus,
                               event_at: int) -> str:
    """A gateway's auto-debit subscription reports a state (activated, pending, halted, ...).
    Events arrive out of order: one older than the newest applied, or naming a move the state
    machine refuses, changes nothing. Returns what happened (ids and states only)."""
    sub = await Subscription.get_or_none(tenant_id=tenant_id, gateway=gateway, gateway_subscription_id=gateway_subscription_id)
    if sub is None:
        return "unknown subscription"
    if sub.gateway_event_at is not None and event_at < sub.gateway_event_at:
        return "stale event"
    sub.gateway_event_at = event_at
    if sub.status is to or not can_move(sub, to):
        await sub.save(update_fields=["gateway_event_at", "updated_at"])
        return f"no change ({sub.status.value})"
    old = transition(sub, to)
    fields = ["status", "gateway_event_at", "updated_at"]
    if to is S.CANCELLED:
        sub.cancelled_at, sub.auto_renew, sub.next_renewal_on = utcnow(), False, None
        fields += ["cancelled_at", "auto_renew", "next_renewal_on"]
    async with transaction():
        await sub.save(update_fields=fields)
        change_feed.record(tenant_id, ChangeType.SUBSCRIPTION, sub.id, Op.UPDATED)
        name = events.SUBSCRIPTION_SUSPENDED if to is S.SUSPENDED else events.SUBSCRIPTION_CHANGED
        await events.emit(name, tenant_id, sub.id, status=to.value, previous=old.value, source=gateway)
    return f"{old.value} -> {to.value}"


async def get_subscription(tenant_id: UUID, sub_id: UUID | None, field: str = "id") -> Subscription:
    sub = await Subscription.get_or_none(id=sub_id, tenant_id=tenant_id) if sub_id else None
    if sub is None:
        raise NotFound("subscription", field)
    return sub


@dataclass
class SubscriptionFilter:
    statuses: list[SubscriptionStatus] = field(default_factory=list)
    customer_id: UUID | None = None
    plan_id: UUID | None = None
    renews_by: date | None = None  # next renewal on or before this day


def subscription_queryset(tenant_id: UUID, f: SubscriptionFilter) -> QuerySet[Subscription]:
    qs = Subscription.filter(tenant_id=tenant_id)
    if f.statuses:
        qs = qs.filter(status__in=f.statuses)
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    if f.plan_id:
        qs = qs.filter(plan_id=f.plan_id)
    if f.renews_by:
        qs = qs.filter(next_renewal_on__lte=f.renews_by)
    return qs
