"""Dashboard figures for one currency, all integer minor units.

- dues_outstanding: what open (and uncollectible) invoices still ask for (total - net paid).
- overdue: the part of that which is past its due date.
- collected_this_month: captured payments received this calendar month (tenant's timezone),
  less refunds made this month (pending or processed).
- mrr: monthly recurring revenue, before tax, of active and past-due subscriptions: each plan's
  price per month (quarterly / 3, yearly / 12, rounded half up per plan) times its subscriptions.
  Trialing, paused, suspended and one-time subscriptions count for nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from tortoise.functions import Count, Sum

from seva_crm.core.billing.invoices import PAYABLE
from seva_crm.core.billing.money import monthly_equivalent
from seva_crm.core.common.enums import REGION_CURRENCY, Currency, PaymentStatus, RefundStatus, SubscriptionStatus
from seva_crm.core.models import Invoice, Payment, Plan, Refund, Subscription, Tenant
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow


@dataclass(frozen=True)
class BillingSummary:
    currency: Currency
    dues_outstanding: int
    overdue: int
    collected_this_month: int
    mrr: int
    active_subscriptions: int


async def billing_summary(tenant: TenantScope, currency: Currency | None = None, now: datetime | None = None) -> BillingSummary:
    currency = currency or REGION_CURRENCY[tenant.region]
    now = now or utcnow()
    zone = ZoneInfo((await Tenant.get(id=tenant.id).only("id", "timezone")).timezone)
    local = now.astimezone(zone)
    today = local.date()
    # compared in UTC: SQLite compares stored timestamps as text, so a +05:30 bound would misorder
    month_start = datetime.combine(today.replace(day=1), time(), tzinfo=zone).astimezone(UTC)

    open_invoices = Invoice.filter(tenant_id=tenant.id, currency=currency, status__in=PAYABLE)
    dues = await _sum(open_invoices, "total") - await _sum(open_invoices, "amount_paid")
    late = open_invoices.filter(due_on__lt=today)
    overdue = await _sum(late, "total") - await _sum(late, "amount_paid")

    received = await _sum(Payment.filter(tenant_id=tenant.id, currency=currency, status=PaymentStatus.CAPTURED,
                                         received_at__gte=month_start, received_at__lte=now), "amount")
    refunded = await _sum(Refund.filter(tenant_id=tenant.id, payment__currency=currency, created_at__gte=month_start,
                                        created_at__lte=now, status__in=(RefundStatus.PENDING, RefundStatus.PROCESSED)), "amount")

    counting = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
    per_plan = await Subscription.filter(tenant_id=tenant.id, status__in=counting, plan__currency=currency) \
        .annotate(n=Count("id")).group_by("plan_id").values_list("plan_id", "n")
    plans = {p.id: p for p in await Plan.filter(tenant_id=tenant.id, id__in=[pid for pid, _ in per_plan])}
    mrr = sum(monthly_equivalent(plans[pid].amount, plans[pid].interval) * n for pid, n in per_plan)
    active = sum(n for _, n in per_plan)
    return BillingSummary(currency, dues, overdue, received - refunded, mrr, active)


async def _sum(qs, column: str) -> int:
    row = await qs.annotate(total_sum=Sum(column)).first().values("total_sum")
    return int(row["total_sum"] or 0) if row else 0
