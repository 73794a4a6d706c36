"""Voiding an invoice cancels its payment link at Razorpay (the local fake, over HTTP); a payment
that still arrives for the void invoice becomes the customer's credit (or is refunded, by the
billing setting) and staff are alerted."""

from __future__ import annotations

import pytest

from seva_crm.core.billing import invoices
from seva_crm.core.billing.settings import update_billing_settings
from seva_crm.core.common.enums import InvoiceStatus, Role
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import AuditEvent, Credit, Message, Payment, PaymentLink, User
from tests.billing_helpers import customer
from tests.jobs_support import inprocess_jobs  # noqa: F401 - a fixture
from tests.test_razorpay import fake, hook_url, hooks_client, rzp  # noqa: F401 - fixtures

LINK = "mutation($i: ID!) { paymentLinkCreate(invoiceId: $i) { paymentLink { providerId status } errors { code } } }"
ORDER = "mutation($i: ID!) { razorpayOrderCreate(invoiceId: $i) { orderId errors { code } } }"
VOID = "mutation($id: ID!) { invoiceVoid(id: $id) { invoice { status } errors { code message } } }"


async def open_invoice(tenant, amount=118000):
    # the fake is one Razorpay account for every tenant, and the invoice number is the link's
    # reference id: a prefix of the tenant's own keeps the numbers apart
    await update_billing_settings(tenant.id, {"invoice_prefix": tenant.id.hex[:4].upper()})
    c = await customer(tenant.scope, phone="9876500501")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": "Plan", "unit_amount": amount}]})
    return invoice, to_global_id("Invoice", invoice.id)


async def test_void_cancels_the_link_and_a_late_checkout_payment_becomes_credit_with_an_alert(tenant, fake, rzp, hooks_client):
    await rzp(tenant.id)
    invoice, gid = await open_invoice(tenant)
    link = (await tenant.api.ok(LINK, i=gid))["paymentLinkCreate"]["paymentLink"]
    order = (await tenant.api.ok(ORDER, i=gid))["razorpayOrderCreate"]["orderId"]  # a Checkout page left open

    assert (await tenant.api.ok(VOID, id=gid))["invoiceVoid"] == {"invoice": {"status": "VOID"}, "errors": []}
    assert fake.state.links[link["providerId"]]["status"] == "cancelled"
    assert (await PaymentLink.get(provider_id=link["providerId"])).status == "cancelled"
    with pytest.raises(ValueError):
        fake.pay_link(link["providerId"])  # Razorpay no longer takes money on it

    payment, _, events = fake.pay_order(order)
    for event in events:
        (response,) = await fake.deliver(hook_url(tenant.id), event, client=hooks_client)
        assert response.status_code == 200
    await invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.VOID, 0)
    row = await Payment.get(tenant_id=tenant.id, provider_payment_id=payment["id"])
    [credit] = await Credit.filter(tenant_id=tenant.id)
    assert (credit.amount, credit.payment_id, credit.customer_id) == (118000, row.id, invoice.customer_id)
    owner = await User.get(tenant_id=tenant.id, role=Role.OWNER)
    [alert] = await Message.filter(tenant_id=tenant.id, user_id=owner.id, template="billing_staff_alert")
    assert invoice.number in alert.body and "₹1,180.00" in alert.body and "credit" in alert.body
    [entry] = await AuditEvent.filter(tenant_id=tenant.id, action="payment.recorded")
    assert entry.details["credited"] is True


async def test_with_the_refund_setting_a_late_payment_is_refunded_at_the_gateway(tenant, fake, rzp, hooks_client):
    await rzp(tenant.id)
    await update_billing_settings(tenant.id, {"late_payment_action": "refund"})
    invoice, gid = await open_invoice(tenant, 50000)
    order = (await tenant.api.ok(ORDER, i=gid))["razorpayOrderCreate"]["orderId"]
    assert (await tenant.api.ok(VOID, id=gid))["invoiceVoid"]["errors"] == []

    payment, _, events = fake.pay_order(order)
    for event in events:
        await fake.deliver(hook_url(tenant.id), event, client=hooks_client)
    refunds = [r for r in fake.state.refunds.values() if r["payment_id"] == payment["id"]]
    assert [r["amount"] for r in refunds] == [50000]
    row = await Payment.get(tenant_id=tenant.id, provider_payment_id=payment["id"])
    assert row.refunded_amount == 50000
    [credit] = await Credit.filter(tenant_id=tenant.id)
    assert credit.amount == 0  # given back
    await invoice.refresh_from_db()
    assert invoice.status is InvoiceStatus.VOID
    [alert] = await Message.filter(tenant_id=tenant.id, template="billing_staff_alert")
    assert "refunded" in alert.body


async def test_a_link_paid_before_the_void_stops_it(tenant, fake, rzp):
    await rzp(tenant.id)
    invoice, gid = await open_invoice(tenant, 30000)
    link = (await tenant.api.ok(LINK, i=gid))["paymentLinkCreate"]["paymentLink"]
    fake.pay_link(link["providerId"])  # paid; its webhooks are still on their way
    refused = (await tenant.api.ok(VOID, id=gid))["invoiceVoid"]
    assert refused["invoice"] is None and refused["errors"][0]["code"] == "INVALID" and "paid" in refused["errors"][0]["message"]
    await invoice.refresh_from_db()
    assert invoice.status is InvoiceStatus.OPEN
