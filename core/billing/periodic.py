"""Periodic billing work, as functions of ``now`` the scheduler runs (``@periodic``: a job each).
Every one is idempotent: running it twice, or on two machines, does the work once.

- ``run_renewals``: issues each renewing subscription's next invoice ``reminder_days_before``
  days ahead of the renewal date (due on that date), and rolls periods over when they end; a
  subscription that does not renew expires at its period end.
- ``mark_overdue``: a trialing or active subscription whose invoice is unpaid after its due date
  becomes past due.
- ``suspend_after_grace``: a past-due subscription whose oldest unpaid invoice is more than its
  grace days overdue is suspended (domain event ``subscription.suspended``).

Each status change emits its ``subscription.*`` event inside the change's transaction, so the rows
written for it (webhook deliveries, status-rule messages) commit with it.
- ``due_reminders`` (core.billing.reminders): reminders before the due date and when overdue."""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from tortoise.exceptions import IntegrityError

from seva_crm.core.billing import events, notify
from seva_crm.core.billing.clock import todays
from seva_crm.core.billing.invoices import PAYABLE
from seva_crm.core.billing.money import days, period_end
from seva_crm.core.billing.reminders import due_reminders
from seva_crm.core.billing.settings import LIMITS, billing_settings
from seva_crm.core.billing.subscriptions import RENEWING, _invoice_period, can_move, transition
from seva_crm.core.common.enums import BillingInterval, SubscriptionStatus
from seva_crm.core.jobs.schedule import HOUR, periodic
from seva_crm.core.models import Invoice, Plan, Subscription
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.storage.transactions import transaction
from seva_crm.core.common.security import utcnow
from seva_crm.core.platform import audit

log = logging.getLogger("seva.billing")
S = SubscriptionStatus
MAX_LEAD_DAYS = LIMITS["reminder_days_before"][1]

__all__ = ["run_renewals", "mark_overdue", "suspend_after_grace", "due_reminders"]


@periodic("billing.renewals", every_seconds=HOUR)
async def run_renewals(now: datetime, tenant_id: UUID | None = None) -> list[tuple[UUID, str]]:
    """Returns (subscription id, what happened: "invoiced", "renewed" or "expired") for each change.
    ``tenant_id``: only that tenant's (``seva billing run --tenant``)."""
    return await _issue_renewal_invoices(now, tenant_id) + await _roll_periods(now, tenant_id)


def _scoped(tenant_id: UUID | None) -> dict:
    return {"tenant_id": tenant_id} if tenant_id else {}


async def _issue_renewal_invoices(now: datetime, tenant_id: UUID | None) -> list[tuple[UUID, str]]:
    horizon = now.date() + days(MAX_LEAD_DAYS + 1)
    candidates = await Subscription.filter(status__in=RENEWING, auto_renew=True, next_renewal_on__lte=horizon, **_scoped(tenant_id))
    today_of = await todays({s.tenant_id for s in candidates}, now)
    lead_of: dict = {}
    plans = {p.id: p for p in await Plan.filter(id__in={s.plan_id for s in candidates})}
    done = []
    for sub in candidates:
        if sub.tenant_id not in lead_of:
            lead_of[sub.tenant_id] = (await billing_settings(sub.tenant_id)).reminder_days_before
        today = today_of[sub.tenant_id]
        start = sub.next_renewal_on
        if start > today + days(lead_of[sub.tenant_id]):
            continue
        if await Invoice.exists(subscription_id=sub.id, period_start=start):
            continue
        plan = plans[sub.plan_id]
        end = period_end(start, plan.interval, sub.started_on.day)
        try:
            await _invoice_period(sub, plan, start, end, issued_on=today, due_on=start)
            done.append((sub.id, "invoiced"))
        except IntegrityError:  # another scheduler issued it a moment ago
            continue
    return done


async def _roll_periods(now: datetime, tenant_id: UUID | None) -> list[tuple[UUID, str]]:
    candidates = await Subscription.filter(status__in=RENEWING, current_period_end__lte=now.date() + days(1), **_scoped(tenant_id))
    today_of = await todays({s.tenant_id for s in candidates}, now)
    plans = {p.id: p for p in await Plan.filter(id__in={s.plan_id for s in candidates})}
    done = []
    for sub in candidates:
        plan, today = plans[sub.plan_id], today_of[sub.tenant_id]
        if plan.interval is BillingInterval.ONE_TIME or sub.current_period_end > today:
            continue  # one-time: bought once, kept until cancelled
        if not sub.auto_renew:
            old = transition(sub, S.EXPIRED)
            async with transaction():  # the event's webhook rows and status-rule message commit with the change
                if await _save_guarded(sub, ["status"], old):
                    await events.emit(events.SUBSCRIPTION_CHANGED, sub.tenant_id, sub.id, status=sub.status.value,
                                      previous=old.value)
                    done.append((sub.id, "expired"))
            continue
        while sub.current_period_end <= today:  # catch up if the scheduler was down
            start = sub.current_period_end
            sub.current_period_start, sub.current_period_end = start, period_end(start, plan.interval, sub.started_on.day)
        sub.next_renewal_on = sub.current_period_end
        fields, old = ["current_period_start", "current_period_end", "next_renewal_on"], sub.status
        if sub.status is S.TRIALING and not await _owes(sub, today, include_due_today=True):
            transition(sub, S.ACTIVE)  # the trial ended with its first invoice paid
            fields.append("status")
        async with transaction():
            if await _save_guarded(sub, fields, old):
                if sub.status is not old:  # a status change, told like every other (webhooks, live events, rules)
                    await events.emit(events.SUBSCRIPTION_CHANGED, sub.tenant_id, sub.id, status=sub.status.value,
                                      previous=old.value)
                done.append((sub.id, "renewed"))
    return done


@periodic("billing.overdue", every_seconds=HOUR)
async def mark_overdue(now: datetime, tenant_id: UUID | None = None) -> list[UUID]:
    """Returns the subscriptions that became past due."""
    overdue = Invoice.filter(status__in=PAYABLE, subscription_id__isnull=False, due_on__lt=now.date() + days(1), **_scoped(tenant_id))
    sub_ids = set(await overdue.values_list("subscription_id", flat=True))
    subs = await Subscription.filter(id__in=sub_ids, status__in=(S.TRIALING, S.ACTIVE)) if sub_ids else []
    today_of = await todays({s.tenant_id for s in subs}, now)
    done = []
    for sub in subs:
        if await _owes(sub, today_of[sub.tenant_id]):
            old = transition(sub, S.PAST_DUE)
            async with transaction():
                if await _save_guarded(sub, ["status"], old):
                    await events.emit(events.SUBSCRIPTION_CHANGED, sub.tenant_id, sub.id, status=sub.status.value,
                                      previous=old.value)
                    done.append(sub.id)
    return done


@periodic("billing.suspensions", every_seconds=HOUR)
async def suspend_after_grace(now: datetime, tenant_id: UUID | None = None) -> list[UUID]:
    """Returns the subscriptions suspended."""
    subs = await Subscription.filter(status=S.PAST_DUE, **_scoped(tenant_id))
    today_of = await todays({s.tenant_id for s in subs}, now)
    done = []
    for sub in subs:
        today = today_of[sub.tenant_id]
        oldest = await Invoice.filter(subscription_id=sub.id, status__in=PAYABLE, due_on__lt=today).order_by("due_on").first()
        if oldest is None or oldest.due_on + days(sub.grace_days) >= today or not can_move(sub, S.SUSPENDED):
            continue
        old = transition(sub, S.SUSPENDED)
        async with transaction():  # the status, the notices and the audit entry commit together
            if not await _save_guarded(sub, ["status"], old):
                continue
            await notify.send_subscription_notice(sub, notify.SUSPENDED, oldest, str(oldest.id))
            await notify.alert_staff(sub.tenant_id, f"subscription {sub.id} suspended: invoice {oldest.number} is "
                                     f"{(today - oldest.due_on).days} days overdue", f"suspended:{sub.id}:{oldest.id}")
            await audit.record(sub.tenant_id, "subscription.suspended", subject_type="subscription", subject_id=sub.id,
                               changed=["status"], details={"invoice": str(oldest.id), "days_overdue": (today - oldest.due_on).days},
                               actor=audit.SYSTEM)
            await events.emit(events.SUBSCRIPTION_SUSPENDED, sub.tenant_id, sub.id, status=sub.status.value,
                              invoice_id=str(oldest.id), days_overdue=(today - oldest.due_on).days)
        done.append(sub.id)
    return done


async def _owes(sub: Subscription, today, *, include_due_today: bool = False) -> bool:
    due = {"due_on__lte": today} if include_due_today else {"due_on__lt": today}
    return await Invoice.filter(subscription_id=sub.id, status__in=PAYABLE, **due).exists()


async def _save_guarded(sub: Subscription, fields: list[str], expected: SubscriptionStatus) -> bool:
    """Save only if the status is still the one this run read: an update conditioned on it, so a
    concurrent change (a payment, a staff action) wins and this one is dropped."""
    values = {f: getattr(sub, f) for f in fields}
    async with transaction():
        changed = await Subscription.filter(id=sub.id, status=expected).update(**values, updated_at=utcnow())
        if changed:
            change_feed.record(sub.tenant_id, ChangeType.SUBSCRIPTION, sub.id, Op.UPDATED)
    return changed == 1
