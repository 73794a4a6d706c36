"""Billing in core: money and rounding, numbering, subscription transitions, payments and
refunds, the periodic work (run with an explicit ``now``), reminders and dashboard figures."""

import asyncio
from datetime import timedelta

import pytest

from seva_crm.core.billing import invoices, notify, payments, periodic, subscriptions
from seva_crm.core.billing.clock import tenant_today
from seva_crm.core.billing.money import add_months, round_half_up, tax_on
from seva_crm.core.billing.summary import billing_summary
from seva_crm.core.common.enums import BillingInterval, InvoiceStatus, MessageStatus, RefundStatus, ReminderKind, SubscriptionStatus
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.models import BillingReminder, Invoice, InvoiceLine, Message, Payment
from seva_crm.core.common.principal import TenantScope
from tests.billing_helpers import at, customer, plan, subscription
from tests.conftest import is_postgres

S = SubscriptionStatus


def mine(changes, sub) -> list[str]:
    return [what for sid, what in changes if sid == sub.id]


def code_of(exc: pytest.ExceptionInfo) -> ErrorCode:
    return exc.value.errors[0].code


# ---------------------------------------------------------------- money and rounding

def test_round_half_up_and_line_tax():
    assert [round_half_up(n, 10) for n in (14, 15, 16, -15)] == [1, 2, 2, -2]
    assert tax_on(12345, 1800) == 2222  # 2222.10
    assert tax_on(12350, 1800) == 2223  # 2223.00
    assert tax_on(25, 1800) == 5  # 4.5 -> 5: half up
    assert tax_on(10, 500) == 1  # 0.5 -> 1
    assert tax_on(99900, 0) == 0


def test_months_keep_their_anchor_day():
    from datetime import date

    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 2, 28), 1, anchor_day=31) == date(2026, 3, 31)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


async def test_invoice_totals_round_each_line_half_up(tenant):
    c = await customer(tenant.scope)
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [
        {"description": "Router rent", "quantity": 3, "unit_amount": 8325, "tax_rate_bp": 1800},  # 24975 -> 4495.5 -> 4496
        {"description": "Installation", "quantity": 1, "unit_amount": 25, "tax_rate_bp": 1800},  # 25 -> 4.5 -> 5
        {"description": "Stamp paper", "quantity": 2, "unit_amount": 1000, "tax_rate_bp": 0},
    ]})
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (27000, 4501, 31501)
    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position")
    assert [(line.amount, line.tax_amount) for line in lines] == [(24975, 4496), (25, 5), (2000, 0)]
    assert [(t.rate_bp, t.taxable, t.tax) for t in invoices.tax_lines(lines)] == [(1800, 25000, 4501)]
    assert invoice.status is InvoiceStatus.OPEN and invoice.currency.value == "INR"


async def test_invoice_input_errors_name_each_field(tenant):
    with pytest.raises(DomainError) as exc:
        await invoices.create_invoice(tenant.scope, {"customer_id": None, "lines": [
            {"description": "", "quantity": 0, "unit_amount": -5, "tax_rate_bp": 20000}]})
    assert {e.field for e in exc.value.errors} == {
        "customerId", "lines.0.description", "lines.0.quantity", "lines.0.unitAmount", "lines.0.taxRateBp"}


# ---------------------------------------------------------------- numbering

async def test_numbers_are_consecutive_per_tenant_and_voiding_keeps_them(make_tenant):
    a, b = await make_tenant(), await make_tenant()
    ca, cb = await customer(a.scope), await customer(b.scope)
    line = [{"description": "Service", "unit_amount": 10000}]
    fy = "2526"  # the pinned clock's March 2026 is in India's FY 2025-26
    first = await invoices.create_invoice(a.scope, {"customer_id": ca.id, "lines": line})
    other = await invoices.create_invoice(b.scope, {"customer_id": cb.id, "lines": line})
    await invoices.void_invoice(a.scope, first.id)
    second = await invoices.create_invoice(a.scope, {"customer_id": ca.id, "lines": line})
    assert (first.number, second.number, other.number) == (f"INV-{fy}-000001", f"INV-{fy}-000002", f"INV-{fy}-000001")
    assert (await Invoice.get(id=first.id)).status is InvoiceStatus.VOID


@pytest.mark.skipif(not is_postgres(), reason="concurrent numbering needs PostgreSQL row locks; SQLite serialises writers anyway")
async def test_fifty_concurrent_invoices_get_fifty_consecutive_numbers(tenant):
    c = await customer(tenant.scope)
    made = await asyncio.gather(*(
        invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": f"L{i}", "unit_amount": 100}]})
        for i in range(50)
    ))
    numbers = sorted(int(i.number.rsplit("-", 1)[1]) for i in made)
    assert numbers == list(range(1, 51))


# ---------------------------------------------------------------- subscription transitions

async def test_new_subscription_is_active_with_its_first_invoice(tenant):
    sub = await subscription(tenant.scope)
    today = await tenant_today(tenant.id)
    assert sub.status is S.ACTIVE and sub.current_period_start == today
    assert sub.current_period_end == add_months(today, 1) == sub.next_renewal_on
    invoice = await Invoice.get(subscription_id=sub.id)
    assert (invoice.total, invoice.due_on, invoice.period_start) == (49900 + 8982, today, today)


async def test_illegal_transitions_are_typed_errors(tenant):
    sub = await subscription(tenant.scope)
    with pytest.raises(DomainError) as exc:
        await subscriptions.resume_subscription(tenant.scope, sub.id)
    assert code_of(exc) is ErrorCode.INVALID_TRANSITION
    await subscriptions.cancel_subscription(tenant.scope, sub.id)
    for action in (subscriptions.pause_subscription, subscriptions.cancel_subscription):
        with pytest.raises(DomainError) as exc:
            await action(tenant.scope, sub.id)
        assert code_of(exc) is ErrorCode.INVALID_TRANSITION


async def test_pause_stops_the_clock_and_resume_gives_the_days_back(tenant, monkeypatch):
    sub = await subscription(tenant.scope)
    end = sub.current_period_end
    paused = await subscriptions.pause_subscription(tenant.scope, sub.id)
    assert paused.status is S.PAUSED
    # nothing renews or falls due while paused
    assert sub.id not in await periodic.mark_overdue(at(end + timedelta(days=2)))
    assert mine(await periodic.run_renewals(at(end + timedelta(days=2))), sub) == []
    await sub.refresh_from_db()
    assert sub.status is S.PAUSED
    paused.paused_at -= timedelta(days=10)
    await paused.save(update_fields=["paused_at"])
    resumed = await subscriptions.resume_subscription(tenant.scope, sub.id)
    assert resumed.status is S.ACTIVE
    assert resumed.current_period_end == end + timedelta(days=10) == resumed.next_renewal_on


# ---------------------------------------------------------------- payments and refunds

async def manual_invoice(scope, amount=100000):
    c = await customer(scope)
    return await invoices.create_invoice(scope, {"customer_id": c.id, "lines": [{"description": "Service", "unit_amount": amount}]})


async def test_partial_payments_settle_the_invoice_and_overpaying_is_refused(tenant):
    invoice = await manual_invoice(tenant.scope)
    await payments.record_payment(tenant.scope, invoice.id, {"amount": 40000, "method": "cash"})
    await invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoices.amount_due(invoice)) == (InvoiceStatus.OPEN, 40000, 60000)
    with pytest.raises(DomainError) as exc:
        await payments.record_payment(tenant.scope, invoice.id, {"amount": 60001, "method": "upi", "reference": "UPI123"})
    assert exc.value.errors[0].field == "amount"
    await payments.record_payment(tenant.scope, invoice.id, {"amount": 60000, "method": "upi", "reference": "UPI123"})
    await invoice.refresh_from_db()
    assert invoice.status is InvoiceStatus.PAID and invoice.paid_at is not None
    with pytest.raises(DomainError):
        await payments.record_payment(tenant.scope, invoice.id, {"amount": 1, "method": "cash"})
    with pytest.raises(DomainError) as exc:
        await invoices.void_invoice(tenant.scope, invoice.id)
    assert code_of(exc) is ErrorCode.INVALID_TRANSITION


async def test_refunds_never_exceed_what_was_paid_and_mark_the_invoice_refunded(tenant):
    invoice = await manual_invoice(tenant.scope, 50000)
    payment = await payments.record_payment(tenant.scope, invoice.id, {"amount": 50000, "method": "cash"})
    with pytest.raises(DomainError) as exc:
        await payments.refund_payment(tenant.scope, payment.id, {"amount": 50001})
    assert exc.value.errors[0].field == "amount"
    await payments.refund_payment(tenant.scope, payment.id, {"amount": 20000, "reason": "plan downgrade"})
    await invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoices.amount_due(invoice)) == (InvoiceStatus.REFUNDED, 30000, 0)
    with pytest.raises(DomainError):
        await payments.refund_payment(tenant.scope, payment.id, {"amount": 30001})
    await payments.refund_payment(tenant.scope, payment.id, {"amount": 30000})
    await payment.refresh_from_db()
    assert payment.refunded_amount == 50000


async def test_gateway_refund_reports_apply_once_in_any_order(tenant):
    invoice = await manual_invoice(tenant.scope, 50000)
    gp = payments.GatewayPayment("razorpay", "pay_refund_order", 50000, True, at(await tenant_today(tenant.id)))
    await payments.record_gateway_payment(tenant.id, invoice.id, gp)
    processed, _ = await payments.update_gateway_refund(tenant.id, "pay_refund_order", "rfnd_1", 10000, RefundStatus.PROCESSED)
    late_created, outcome = await payments.update_gateway_refund(tenant.id, "pay_refund_order", "rfnd_1", 10000, RefundStatus.PENDING)
    assert late_created.status is RefundStatus.PROCESSED and outcome == "no change"
    await payments.update_gateway_refund(tenant.id, "pay_refund_order", "rfnd_2", 5000, RefundStatus.PENDING)
    await payments.update_gateway_refund(tenant.id, "pay_refund_order", "rfnd_2", 5000, RefundStatus.FAILED)
    await invoice.refresh_from_db()
    assert invoice.amount_paid == 40000  # the failed refund gave its 5000 back
    unknown, outcome = await payments.update_gateway_refund(tenant.id, "pay_never_seen", "rfnd_3", 100, RefundStatus.PROCESSED)
    assert unknown is None and outcome == "payment not recorded yet"


async def test_a_gateway_payment_is_recorded_once(tenant):
    invoice = await manual_invoice(tenant.scope, 50000)
    when = at(await tenant_today(tenant.id))
    failed = payments.GatewayPayment("razorpay", "pay_once", 50000, False, when)
    captured = payments.GatewayPayment("razorpay", "pay_once", 50000, True, when)
    results = [await payments.record_gateway_payment(tenant.id, invoice.id, gp) for gp in (failed, captured, captured, failed)]
    assert [changed for _, changed in results] == [True, True, False, False]
    assert await Payment.filter(invoice_id=invoice.id).count() == 1
    await invoice.refresh_from_db()
    assert invoice.status is InvoiceStatus.PAID


# ---------------------------------------------------------------- periodic work

async def test_renewal_overdue_suspension_and_reactivation(tenant, domain_events):
    seen = domain_events
    sub = await subscription(tenant.scope, grace_days=5)
    first = await Invoice.get(subscription_id=sub.id)
    await payments.record_payment(tenant.scope, first.id, {"amount": first.total, "method": "cash"})
    renewal = sub.next_renewal_on

    assert mine(await periodic.run_renewals(at(renewal - timedelta(days=4))), sub) == []  # not yet: 3 days ahead
    assert mine(await periodic.run_renewals(at(renewal - timedelta(days=3))), sub) == ["invoiced"]
    assert mine(await periodic.run_renewals(at(renewal - timedelta(days=2))), sub) == []  # idempotent
    second = await Invoice.get(subscription_id=sub.id, period_start=renewal)
    assert (second.due_on, second.period_end, second.issued_on) == (renewal, add_months(renewal, 1), renewal - timedelta(days=3))

    assert mine(await periodic.run_renewals(at(renewal)), sub) == ["renewed"]
    await sub.refresh_from_db()
    assert (sub.current_period_start, sub.status) == (renewal, S.ACTIVE)
    assert sub.id not in await periodic.mark_overdue(at(renewal))  # due today is not overdue
    assert sub.id in await periodic.mark_overdue(at(renewal + timedelta(days=1)))
    await sub.refresh_from_db()
    assert sub.status is S.PAST_DUE
    assert sub.id not in await periodic.suspend_after_grace(at(renewal + timedelta(days=5)))  # still in grace
    assert sub.id in await periodic.suspend_after_grace(at(renewal + timedelta(days=6)))
    assert sub.id not in await periodic.suspend_after_grace(at(renewal + timedelta(days=7)))
    await sub.refresh_from_db()
    assert sub.status is S.SUSPENDED
    suspended = [e for e in seen if e.name == "subscription.suspended" and e.subject_id == sub.id]
    assert len(suspended) == 1 and suspended[0].data["days_overdue"] == 6 and suspended[0].tenant_id == tenant.id

    await payments.record_payment(tenant.scope, second.id, {"amount": second.total, "method": "upi", "reference": "R1"})
    await sub.refresh_from_db()
    assert sub.status is S.ACTIVE
    assert any(e.name == "subscription.reactivated" and e.subject_id == sub.id for e in seen)
    paid = [e for e in seen if e.name == "payment.recorded" and e.data["invoice_id"] == str(second.id)]
    assert len(paid) == 1 and set(paid[0].data) == {"invoice_id", "amount"}  # ids and states only


async def test_a_subscription_that_does_not_renew_expires(tenant):
    sub = await subscription(tenant.scope, auto_renew=False)
    assert sub.next_renewal_on is None
    assert mine(await periodic.run_renewals(at(sub.current_period_end - timedelta(days=1))), sub) == []
    assert mine(await periodic.run_renewals(at(sub.current_period_end)), sub) == ["expired"]
    await sub.refresh_from_db()
    assert sub.status is S.EXPIRED
    assert await Invoice.filter(subscription_id=sub.id).count() == 1


async def test_trial_ends_into_a_renewal_invoice(tenant):
    sub = await subscription(tenant.scope, trial_days=14)
    assert sub.status is S.TRIALING and await Invoice.filter(subscription_id=sub.id).count() == 0
    trial_end = sub.current_period_end
    await periodic.run_renewals(at(trial_end - timedelta(days=3)))
    invoice = await Invoice.get(subscription_id=sub.id)
    assert invoice.due_on == trial_end
    await periodic.run_renewals(at(trial_end))
    await periodic.mark_overdue(at(trial_end + timedelta(days=1)))
    await sub.refresh_from_db()
    assert sub.status is S.PAST_DUE


# ---------------------------------------------------------------- reminders

async def test_reminders_are_produced_once_per_invoice_and_kind(tenant, monkeypatch):
    sent = []

    async def record(invoice, kind):
        sent.append((invoice.id, kind))

    monkeypatch.setattr(notify, "send_reminder", record)
    today = await tenant_today(tenant.id)
    c = await customer(tenant.scope)
    due_in_5 = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "due_on": today + timedelta(days=5),
                                                           "lines": [{"description": "x", "unit_amount": 100}]})
    assert (due_in_5.id, ReminderKind.DUE_SOON) not in await periodic.due_reminders(at(today))
    two_days_before = at(today + timedelta(days=2))
    produced = await asyncio.gather(*(periodic.due_reminders(two_days_before) for _ in range(3)))
    mine = [p for batch in produced for p in batch if p[0] == due_in_5.id]
    assert mine == [(due_in_5.id, ReminderKind.DUE_SOON)]
    assert [s for s in sent if s[0] == due_in_5.id] == mine
    late = at(today + timedelta(days=6))
    assert (due_in_5.id, ReminderKind.OVERDUE) in await periodic.due_reminders(late)
    assert [p for p in await periodic.due_reminders(late) if p[0] == due_in_5.id] == []
    assert await BillingReminder.filter(invoice_id=due_in_5.id).count() == 2

    paid = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "due_on": today,
                                                       "lines": [{"description": "y", "unit_amount": 100}]})
    await payments.record_payment(tenant.scope, paid.id, {"amount": paid.total, "method": "cash"})
    assert [p for p in await periodic.due_reminders(late) if p[0] == paid.id] == []


async def test_a_due_reminder_queues_exactly_one_outbox_message(tenant):
    today = await tenant_today(tenant.id)
    c = await customer(tenant.scope, name="Ravi Kumar", phone="9876500301")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "due_on": today + timedelta(days=2),
                                                          "lines": [{"description": "x", "unit_amount": 123450}]})
    when = at(today)
    for _ in range(2):
        await asyncio.gather(*(periodic.due_reminders(when) for _ in range(3)))
    messages = await Message.filter(tenant_id=tenant.id, customer_id=c.id)
    assert len(messages) == 1
    m = messages[0]
    assert (m.template, m.purpose, m.status) == ("invoice_due", "service", MessageStatus.QUEUED)
    assert m.idempotency_key == f"billing-reminder:{invoice.id}:due_soon"
    # with the name: WhatsApp template parameters and DLT variables are filled from these at send time
    assert invoice.due_on.isoformat() == "2026-03-13"  # the pinned clock's today + 2
    assert m.variables == {"name": "Ravi Kumar", "amount": "₹1,234.50", "due_date": "13 Mar 2026",
                           "invoice_number": invoice.number, "business": "Test Centre", "payment": "Pay at Test Centre."}
    assert "Ravi Kumar" in m.body and invoice.number in m.body and "₹1,234.50" in m.body

    await periodic.due_reminders(at(today + timedelta(days=3)))  # overdue now: one more, of the other kind
    templates = sorted(await Message.filter(tenant_id=tenant.id, customer_id=c.id).values_list("template", flat=True))
    assert templates == ["invoice_due", "invoice_overdue"]


async def test_a_reminder_whose_transaction_rolls_back_leaves_no_message(tenant, monkeypatch):
    today = await tenant_today(tenant.id)
    c = await customer(tenant.scope)
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "due_on": today + timedelta(days=1),
                                                          "lines": [{"description": "x", "unit_amount": 100}]})
    queue = notify.queue_message

    async def queue_then_fail(*args, **kwargs):
        await queue(*args, **kwargs)
        raise RuntimeError("boom")

    monkeypatch.setattr(notify, "queue_message", queue_then_fail)
    with pytest.raises(RuntimeError):
        await periodic.due_reminders(at(today))
    assert not await Message.exists(customer_id=c.id)
    assert not await BillingReminder.exists(invoice_id=invoice.id)
    monkeypatch.setattr(notify, "queue_message", queue)
    await periodic.due_reminders(at(today))
    assert await Message.filter(customer_id=c.id).count() == 1


# ---------------------------------------------------------------- dashboard

async def test_billing_summary_figures(make_tenant):
    t = await make_tenant()
    today = await tenant_today(t.id)
    monthly = await plan(t.scope, amount=60000, tax_rate_bp=0)
    yearly = await plan(t.scope, amount=120000, interval=BillingInterval.YEARLY, tax_rate_bp=0, name="Yearly")
    quarterly = await plan(t.scope, amount=10000, interval=BillingInterval.QUARTERLY, tax_rate_bp=0, name="Quarterly")
    s1 = await subscription(t.scope, plan=monthly)
    await subscription(t.scope, plan=yearly)
    await subscription(t.scope, plan=quarterly)
    s4 = await subscription(t.scope, plan=monthly)
    await subscriptions.pause_subscription(t.scope, s4.id)
    await subscription(t.scope, plan=monthly, trial_days=7)
    # dues: 60000 + 120000 + 10000 + 60000 (paused s4 still owes its first invoice)
    first = await Invoice.get(subscription_id=s1.id)
    pay = await payments.record_payment(t.scope, first.id, {"amount": 60000, "method": "cash"})
    await payments.refund_payment(t.scope, pay.id, {"amount": 5000})
    summary = await billing_summary(t.scope, now=at(today))
    assert summary.mrr == 60000 + 10000 + 3333  # monthly + yearly/12 + quarterly/3 (3333.33 -> 3333)
    assert summary.active_subscriptions == 3
    assert summary.dues_outstanding == 120000 + 10000 + 60000  # a refunded invoice is owed no more
    assert summary.collected_this_month == 55000
    assert summary.overdue == 0
    later = await billing_summary(t.scope, now=at(today + timedelta(days=1)))
    assert later.overdue == later.dues_outstanding
    other = await billing_summary(TenantScope((await make_tenant()).id, t.scope.region), now=at(today))
    assert (other.mrr, other.dues_outstanding, other.collected_this_month) == (0, 0, 0)
