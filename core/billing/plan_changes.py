"""Moving a subscription to another plan mid-period, with proration in the tenant's calendar.

The new plan applies from today (the tenant's local date). Of the current period
``[start, end)``, the days from today to the end are unused: the customer is credited the old
plan's price for them (only if the period's invoice is paid) and charged the new plan's price
for them, both before tax and rounded half up to the minor unit
(``price x unused days / days in the period``). A positive difference is invoiced at once at the
new plan's tax rate (one line, due today); a negative one becomes the customer's credit
(``billing_credit``), with the old plan's tax on it, since that is what was paid. The next
renewal bills the new plan in full."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from seva_crm.core.billing.clock import tenant_today
from seva_crm.core.billing.invoices import LineDraft, issue_invoice
from seva_crm.core.billing.money import days, round_half_up, tax_on
from seva_crm.core.billing.plans import get_plan
from seva_crm.core.billing.subscriptions import S, audit_change, get_subscription
from seva_crm.core.common import localise
from seva_crm.core.common.enums import BillingInterval, InvoiceStatus
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.models import Credit, Invoice, Subscription
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.storage.transactions import transaction


def prorate(price: int, unused_days: int, period_days: int) -> int:
    return round_half_up(price * unused_days, period_days) if period_days > 0 else 0


async def change_plan(tenant: TenantScope, sub_id: UUID | None, plan_id: UUID | None) -> Subscription:
    sub = await get_subscription(tenant.id, sub_id)
    if sub.status is not S.ACTIVE:
        raise DomainError.of("id", ErrorCode.INVALID_TRANSITION, f"only an active subscription changes plan, not a {sub.status.value} one")
    new = await get_plan(tenant.id, plan_id, "planId")
    old = await get_plan(tenant.id, sub.plan_id)
    if new.id == old.id or not new.active or new.interval is BillingInterval.ONE_TIME or old.interval is BillingInterval.ONE_TIME:
        raise DomainError.of("planId", ErrorCode.INVALID, "choose another active recurring plan")
    today = await tenant_today(tenant.id)
    period_days = (sub.current_period_end - sub.current_period_start).days
    unused = max((sub.current_period_end - max(today, sub.current_period_start)).days, 0)
    period_invoice = await Invoice.get_or_none(tenant_id=tenant.id, subscription_id=sub.id, period_start=sub.current_period_start)
    paid = period_invoice is not None and period_invoice.status is InvoiceStatus.PAID
    if period_invoice is not None and period_invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE):
        raise DomainError.of("id", ErrorCode.INVALID, f"invoice {period_invoice.number} of this period is unpaid: "
                                                      "take the payment or void it first")
    credit = prorate(old.amount, unused, period_days) if paid else 0
    charge = prorate(new.amount, unused, period_days)
    difference = charge - credit
    details: dict[str, Any] = {"from_plan": str(old.id), "to_plan": str(new.id), "unused_days": unused,
                               "period_days": period_days, "credit": credit, "charge": charge, "currency": new.currency.value}
    async with transaction():
        if difference > 0:
            last = sub.current_period_end - days(1)
            label = (f"{new.name} from {old.name}: {localise.day(today)} to {localise.day(last)} "
                     f"({unused} of {period_days} days, less the unused part of {old.name})")
            invoice = await issue_invoice(tenant.id, sub.customer_id, new.currency,
                                          [LineDraft(label[:300], 1, difference, new.tax_rate_bp, new.hsn_sac)],
                                          issued_on=today, due_on=today, subscription_id=sub.id)
            details["invoice"] = str(invoice.id)
        elif difference < 0:
            amount = -difference + tax_on(-difference, old.tax_rate_bp)
            row = await Credit.create(tenant_id=tenant.id, customer_id=sub.customer_id, amount=amount, currency=old.currency,
                                      reason=f"unused days of {old.name}"[:300])
            details["credit_id"] = str(row.id)
        sub.plan_id = new.id
        await sub.save(update_fields=["plan_id", "updated_at"])
        change_feed.record(tenant.id, ChangeType.SUBSCRIPTION, sub.id, Op.UPDATED)
        await audit_change(sub, "subscription.plan_changed", **details)
    return sub
