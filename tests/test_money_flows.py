"""Money flows an owner can trust: every change of money in the audit log with its actor, refunds
that never revive dunning, voids that cancel payment links (and late payments that become
credit with a staff alert), suspension notices, proration, billing settings, deletion of a
subscribed customer, and the tenant's own currency only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seva_crm.core.billing import invoices, payments, periodic, plan_changes
from seva_crm.core.billing.clock import tenant_today
from seva_crm.core.common.enums import InvoiceStatus, Region, Role, SubscriptionStatus
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.models import AuditEvent, BillingReminder, Credit, Invoice, Message, Refund, User
from tests.billing_helpers import at, customer, plan, subscription

S = SubscriptionStatus
PAY = ("mutation($input: PaymentRecordInput!) { paymentRecord(input: $input) { payment { id } errors { field code } } }")
REFUND = "mutation($input: PaymentRefundInput!) { paymentRefund(input: $input) { refund { id refundedById } errors { code } } }"
VOID = "mutation($id: ID!) { invoiceVoid(id: $id) { invoice { status } errors { code message } } }"


async def user_id(api) -> str:
    return str(from_global_id((await api.ok("{ me { id } }"))["me"]["id"], "User"))


async def audit_of(tenant_id, action: str) -> list[AuditEvent]:
    return await AuditEvent.filter(tenant_id=tenant_id, action=action).order_by("seq")


async def test_cash_refund_and_void_are_audited_with_the_agent_who_did_them(tenant):
    agent = await tenant.api_as(Role.AGENT)
    agent_id = await user_id(agent)
    c = await customer(tenant.scope)
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": "Form", "unit_amount": 20000}]})
    gid = to_global_id("Invoice", invoice.id)

    paid = (await agent.ok(PAY, input={"invoiceId": gid, "amount": 20000, "method": "CASH"}))["paymentRecord"]
    refund = (await agent.ok(REFUND, input={"paymentId": paid["payment"]["id"], "amount": 20000}))["paymentRefund"]
    assert refund["errors"] == [] and refund["refund"]["refundedById"] == to_global_id("User", agent_id)
    voided = (await agent.ok(VOID, id=gid))["invoiceVoid"]
    assert voided == {"invoice": {"status": "VOID"}, "errors": []}

    row = await Refund.get(id=from_global_id(refund["refund"]["id"], "Refund"))
    assert str(row.refunded_by_id) == agent_id
    for action in ("payment.recorded", "payment.refunded", "invoice.voided"):
        [entry] = await audit_of(tenant.id, action)
        assert (entry.actor_type, entry.actor_id) == ("user", agent_id), action
    [recorded] = await audit_of(tenant.id, "payment.recorded")
    assert recorded.details["amount"] == 20000 and recorded.details["method"] == "cash"


async def test_a_refunded_invoice_gets_no_reminder(tenant):
    today = await tenant_today(tenant.id)
    c = await customer(tenant.scope, phone="9876500401")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "due_on": today + timedelta(days=2),
                                                          "lines": [{"description": "Plan", "unit_amount": 50000}]})
    payment = await payments.record_payment(tenant.scope, invoice.id, {"amount": 50000, "method": "cash"})
    await payments.refund_payment(tenant.scope, payment.id, {"amount": 50000, "reason": "service not given"})
    await invoice.refresh_from_db()
    assert (invoice.status, invoices.amount_due(invoice)) == (InvoiceStatus.REFUNDED, 0)

    for day in (today, today + timedelta(days=3), today + timedelta(days=10)):  # due soon, then overdue
        produced = await periodic.due_reminders(at(day))
        assert invoice.id not in [iid for iid, _ in produced]
    assert not await BillingReminder.exists(invoice_id=invoice.id)
    assert not await Message.exists(tenant_id=tenant.id, customer_id=c.id)


async def test_a_written_off_invoice_gets_no_reminder_and_is_audited(tenant):
    today = await tenant_today(tenant.id)
    c = await customer(tenant.scope, phone="9876500402")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "due_on": today,
                                                          "lines": [{"description": "Plan", "unit_amount": 50000}]})
    body = await tenant.api.ok("mutation($id: ID!) { invoiceWriteOff(id: $id) { invoice { status } errors { code } } }",
                               id=to_global_id("Invoice", invoice.id))
    assert body["invoiceWriteOff"] == {"invoice": {"status": "UNCOLLECTIBLE"}, "errors": []}
    assert invoice.id not in [iid for iid, _ in await periodic.due_reminders(at(today + timedelta(days=5)))]
    [entry] = await audit_of(tenant.id, "invoice.written_off")
    assert entry.details["amount_due"] == 50000 and entry.actor_type == "user"


async def test_suspension_and_reactivation_tell_the_customer_in_their_language_and_staff(tenant):
    c = await customer(tenant.scope, name="Asha Devi", phone="9876500403", language="hi")
    sub = await subscription(tenant.scope, customer=c, grace_days=2)
    first = await Invoice.get(subscription_id=sub.id)
    suspended_on = first.due_on + timedelta(days=3)
    await periodic.mark_overdue(at(first.due_on + timedelta(days=1)))
    assert sub.id in await periodic.suspend_after_grace(at(suspended_on))
    assert sub.id not in await periodic.suspend_after_grace(at(suspended_on + timedelta(days=1)))

    [notice] = await Message.filter(tenant_id=tenant.id, customer_id=c.id, template="subscription_suspended")
    assert "निलंबित" in notice.body and "Test Centre" in notice.body and first.number in notice.body
    assert "₹588.82" in notice.body  # 49900 + 18% GST, as Indian text writes it
    owner = await User.get(tenant_id=tenant.id, role=Role.OWNER)
    [alert] = await Message.filter(tenant_id=tenant.id, user_id=owner.id, template="billing_staff_alert")
    assert first.number in alert.body and "Asha" not in alert.body  # ids and numbers, no personal data
    [entry] = await audit_of(tenant.id, "subscription.suspended")
    assert entry.actor_type == "system"

    await payments.record_payment(tenant.scope, first.id, {"amount": first.total, "method": "upi", "reference": "UPI-1"})
    await sub.refresh_from_db()
    assert sub.status is S.ACTIVE
    [back] = await Message.filter(tenant_id=tenant.id, customer_id=c.id, template="subscription_reactivated")
    assert "फिर से चालू" in back.body
    assert await Message.filter(tenant_id=tenant.id, user_id=owner.id, template="billing_staff_alert").count() == 2


async def test_a_customer_with_live_subscriptions_is_not_soft_deleted_unless_they_are_cancelled(tenant):
    sub = await subscription(tenant.scope)
    cid = to_global_id("Customer", sub.customer_id)
    delete = ("mutation($id: ID!, $c: Boolean!) { customerDelete(id: $id, cancelSubscriptions: $c) "
              "{ customer { deletedAt } errors { code } } }")
    refused = (await tenant.api.ok(delete, id=cid, c=False))["customerDelete"]
    assert refused == {"customer": None, "errors": [{"code": "HAS_SUBSCRIPTIONS"}]}
    await sub.refresh_from_db()
    assert sub.status is S.ACTIVE
    summary = (await tenant.api.ok("{ billingSummary { activeSubscriptions } }"))["billingSummary"]
    assert summary == {"activeSubscriptions": 1}

    done = (await tenant.api.ok(delete, id=cid, c=True))["customerDelete"]
    assert done["errors"] == [] and done["customer"]["deletedAt"] is not None
    await sub.refresh_from_db()
    assert sub.status is S.CANCELLED
    summary = (await tenant.api.ok("{ billingSummary { activeSubscriptions mrr } }"))["billingSummary"]
    assert summary == {"activeSubscriptions": 0, "mrr": "0"}
    [entry] = await audit_of(tenant.id, "subscription.cancelled")
    assert entry.details["reason"] == "customer deleted"


async def test_an_india_tenant_cannot_bill_in_taka(tenant, make_tenant):
    body = await tenant.api.ok('mutation { planCreate(input: {name: "Fee", amount: 1000, interval: MONTHLY, currency: BDT}) '
                               "{ plan { id } errors { field code } } }")
    assert body["planCreate"] == {"plan": None, "errors": [{"field": "currency", "code": "INVALID"}]}
    c = await customer(tenant.scope)
    body = await tenant.api.ok("mutation($c: ID!) { invoiceCreate(input: {customerId: $c, currency: BDT, "
                               'lines: [{description: "Fee", unitAmount: 1000}]}) { invoice { id } errors { field code } } }',
                               c=to_global_id("Customer", c.id))
    assert body["invoiceCreate"] == {"invoice": None, "errors": [{"field": "currency", "code": "INVALID"}]}
    dhaka = await make_tenant(region=Region.BD)
    body = await dhaka.api.ok('mutation { planCreate(input: {name: "Fee", amount: 1000, interval: MONTHLY, currency: INR}) '
                              "{ errors { field } } }")
    assert body["planCreate"]["errors"] == [{"field": "currency"}]


async def test_plan_and_price_changes_are_audited_with_before_and_after(tenant):
    p = await plan(tenant.scope, amount=49900)
    body = await tenant.api.ok("mutation($id: ID!) { planUpdate(id: $id, input: {amount: 59900}) "
                               "{ plan { price { amount } } errors { code } } }", id=to_global_id("Plan", p.id))
    assert body["planUpdate"] == {"plan": {"price": {"amount": "59900"}}, "errors": []}
    [entry] = await audit_of(tenant.id, "plan.price_changed")
    assert entry.details["before"] == {"amount": 49900} and entry.details["after"] == {"amount": 59900}
    assert entry.actor_type == "user"


async def test_upgrading_mid_period_invoices_the_prorated_difference(tenant):
    small = await plan(tenant.scope, amount=30000, tax_rate_bp=1800, name="Home 30")
    big = await plan(tenant.scope, amount=60000, tax_rate_bp=1800, name="Home 60")
    sub = await subscription(tenant.scope, plan=small)
    first = await Invoice.get(subscription_id=sub.id)
    await payments.record_payment(tenant.scope, first.id, {"amount": first.total, "method": "cash"})
    period_days = (sub.current_period_end - sub.current_period_start).days  # 11 Mar to 11 Apr: 31 days
    assert period_days == 31

    await plan_changes.change_plan(tenant.scope, sub.id, big.id)  # on the first day: 31 unused days
    await sub.refresh_from_db()
    assert sub.plan_id == big.id
    [extra] = await Invoice.filter(subscription_id=sub.id, period_start__isnull=True)
    assert extra.subtotal == 60000 - 30000 and extra.tax_total == 5400 and extra.status is InvoiceStatus.OPEN
    [entry] = await audit_of(tenant.id, "subscription.plan_changed")
    assert (entry.details["credit"], entry.details["charge"], entry.details["unused_days"]) == (30000, 60000, 31)


async def test_downgrading_later_in_the_period_credits_the_unused_days(tenant, clock):
    big = await plan(tenant.scope, amount=62000, tax_rate_bp=1800, name="Home 60")
    small = await plan(tenant.scope, amount=31000, tax_rate_bp=1800, name="Home 30")
    sub = await subscription(tenant.scope, plan=big)
    first = await Invoice.get(subscription_id=sub.id)
    await payments.record_payment(tenant.scope, first.id, {"amount": first.total, "method": "cash"})
    start = clock.now()
    clock.set(start + timedelta(days=10))  # 21 of 31 days left
    await plan_changes.change_plan(tenant.scope, sub.id, small.id)
    clock.set(start)  # back, so the owner's access token is still good
    # credit 62000 x 21/31 = 42000, charge 31000 x 21/31 = 21000: 21000 back, with its 18% GST
    [credit] = await Credit.filter(tenant_id=tenant.id, customer_id=sub.customer_id)
    assert credit.amount == 21000 + 3780
    assert not await Invoice.filter(subscription_id=sub.id, period_start__isnull=True).exists()
    listed = await tenant.api.ok("{ credits { edges { node { amount { amount } reason } } } }")
    assert listed["credits"]["edges"] == [{"node": {"amount": {"amount": "24780"}, "reason": "unused days of Home 60"}}]


async def test_billing_settings_through_the_api_are_audited(tenant):
    query = "{ billingSettings { invoicePrefix reminderDaysBefore graceDays latePaymentAction upiVpa } }"
    assert (await tenant.api.ok(query))["billingSettings"] == {
        "invoicePrefix": "INV", "reminderDaysBefore": 3, "graceDays": 7, "latePaymentAction": "CREDIT", "upiVpa": ""}
    update = ("mutation($i: BillingSettingsInput!) { billingSettingsUpdate(input: $i) { billingSettings { invoicePrefix graceDays "
              "latePaymentAction upiVpa } errors { field code } } }")
    bad = (await tenant.api.ok(update, i={"invoicePrefix": "inv-", "graceDays": 999, "upiVpa": "not a vpa"}))["billingSettingsUpdate"]
    assert {e["field"] for e in bad["errors"]} == {"invoicePrefix", "graceDays", "upiVpa"}
    ok = (await tenant.api.ok(update, i={"invoicePrefix": "SEVA", "graceDays": 10, "latePaymentAction": "REFUND",
                                          "upiVpa": "centre@okaxis"}))["billingSettingsUpdate"]
    assert ok == {"billingSettings": {"invoicePrefix": "SEVA", "graceDays": 10, "latePaymentAction": "REFUND",
                                      "upiVpa": "centre@okaxis"}, "errors": []}
    [entry] = await audit_of(tenant.id, "billing_settings.updated")
    assert entry.details["before"]["grace_days"] == 7 and entry.details["after"]["grace_days"] == 10
    assert entry.actor_type == "user"
    viewer = await tenant.api_as(Role.VIEWER)
    refused = await viewer(update, i={"graceDays": 1})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class Crash(Exception):
    """The process dies here."""


def dying(when: str):
    """``transaction()`` for the payment code, whose process dies just before its commit
    (``before``) or just after it (``after``)."""
    from contextlib import asynccontextmanager

    from seva_crm.core.storage.transactions import transaction

    @asynccontextmanager
    async def dies():
        async with transaction() as conn:
            yield conn
            if when == "before":
                raise Crash
        if when == "after":
            raise Crash

    return dies


async def payment_hooks(tenant, monkeypatch):
    """A webhook endpoint for payment and invoice events (its jobs collected, not run)."""
    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.messaging import webhooks

    monkeypatch.setattr(get_settings(), "webhook_allow_private", True)
    monkeypatch.setattr(webhooks, "enqueue", lambda name, *args, delay_seconds=None: None)
    made = await tenant.api.ok("""mutation($input: WebhookEndpointInput!) { webhookEndpointCreate(input: $input) {
      errors { code } } }""", input={"url": "http://127.0.0.1:9/hook", "eventTypes": ["payment.*", "invoice.paid"]})
    assert made["webhookEndpointCreate"]["errors"] == []


async def delivered(tenant) -> list[tuple[str, str]]:
    from seva_crm.core.models import WebhookDelivery

    rows = await WebhookDelivery.filter(tenant_id=tenant.id).order_by("created_at")
    return [(r.event_type, r.payload["data"]["id"]) for r in rows]


async def _rows(tenant, event_type):
    from seva_crm.core.models import WebhookDelivery

    return await WebhookDelivery.filter(tenant_id=tenant.id, event_type=event_type)


async def test_payment_events_webhook_rows_commit_with_the_payment_and_only_with_it(tenant, monkeypatch):
    """payment.recorded, invoice.paid and payment.refunded are emitted in the transaction that
    records the money: a crash just after the commit still has their webhook deliveries, and a
    rollback leaves neither the payment nor a delivery."""
    from seva_crm.core.models import Payment

    await payment_hooks(tenant, monkeypatch)
    c = await customer(tenant.scope, phone="9876500451")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": "Form", "unit_amount": 30000}]})

    monkeypatch.setattr(payments, "transaction", dying("before"))
    with pytest.raises(Crash):
        await payments.record_payment(tenant.scope, invoice.id, {"amount": 30000, "method": "cash"})
    assert await Payment.filter(invoice_id=invoice.id).count() == 0 and await delivered(tenant) == []

    monkeypatch.setattr(payments, "transaction", dying("after"))
    with pytest.raises(Crash):
        await payments.record_payment(tenant.scope, invoice.id, {"amount": 30000, "method": "cash"})
    [payment] = await Payment.filter(invoice_id=invoice.id)
    assert await delivered(tenant) == [("payment.recorded", str(payment.id)), ("invoice.paid", str(invoice.id))]

    with pytest.raises(Crash):
        await payments.refund_payment(tenant.scope, payment.id, {"amount": 10000, "reason": "part of it"})
    [refund] = await Refund.filter(payment_id=payment.id)
    assert (await delivered(tenant))[2:] == [("payment.refunded", str(payment.id))]
    assert [d.payload["data"]["refund_id"] for d in await _rows(tenant, "payment.refunded")] == [str(refund.id)]


async def test_a_gateway_payment_has_its_webhook_rows_though_the_process_dies_after_the_commit(tenant, monkeypatch):
    from seva_crm.core.common.security import utcnow
    from seva_crm.core.models import Payment

    await payment_hooks(tenant, monkeypatch)
    c = await customer(tenant.scope, phone="9876500452")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": "Plan", "unit_amount": 45000}]})
    monkeypatch.setattr(payments, "transaction", dying("after"))
    reported = payments.GatewayPayment("razorpay", "pay_crash_after_commit", 45000, captured=True, received_at=utcnow())
    with pytest.raises(Crash):
        await payments.record_gateway_payment(tenant.id, invoice.id, reported)
    payment = await Payment.get(provider_payment_id="pay_crash_after_commit", tenant_id=tenant.id)
    assert await delivered(tenant) == [("payment.recorded", str(payment.id)), ("invoice.paid", str(invoice.id))]

