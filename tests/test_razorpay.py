"""The razorpay plugin against a local fake Razorpay over real HTTP: signatures, error parsing,
what the fake refuses, the client's retries and lookups, webhooks (signature, dedupe, order),
Checkout verification, and the end-to-end path from plan to paid invoice."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from seva_crm.core.billing import periodic
from seva_crm.core.billing.clock import tenant_today
from seva_crm.core.common.enums import InvoiceStatus, PaymentStatus, RefundStatus, SubscriptionStatus
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import GatewayEvent, Payment, PaymentLink, Refund, Subscription
from seva_crm.plugins.razorpay.client import RazorpayClient
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.plugins.razorpay.config import RazorpayConfig
from seva_crm.plugins.razorpay.errors import RazorpayError, RazorpayUnavailable
from seva_crm.plugins.razorpay.fake import FakeRazorpay
from seva_crm.plugins.razorpay.signatures import sign, verify_checkout, verify_payment_link, verify_subscription, verify_webhook
from tests.jobs_support import drain, inprocess_jobs  # noqa: F401 - a fixture
from seva_crm.plugins.razorpay import webhooks
from seva_crm.plugins.razorpay.webhooks import routes
from tests.billing_helpers import at, customer, subscription


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture(scope="session")
def fake():
    server = FakeRazorpay()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rzp(fake, plugin_env):
    """A config pointing at the fake (the instance's SEVA_RAZORPAY_BASE_URL), and a helper
    enabling Razorpay for a tenant (through the real per-tenant plugin settings, secrets encrypted)."""
    plugin_env(SEVA_RAZORPAY_BASE_URL=fake.base_url)

    async def setup(tenant_id, key_secret=fake.key_secret, webhook_secret=fake.webhook_secret):
        await configure_razorpay(tenant_id, fake.key_id, key_secret, webhook_secret)

    setup.config = RazorpayConfig.of(fake.key_id, fake.key_secret, fake.webhook_secret, fake.base_url)
    return setup


async def configure_razorpay(tenant_id, key_id, key_secret, webhook_secret):
    await update_plugin_settings(tenant_id, "razorpay", enabled=True, settings={
        "keyId": key_id, "keySecret": key_secret, "webhookSecret": webhook_secret})


class JoiningTransport(httpx.ASGITransport):
    """Each webhook delivery returns once the jobs it enqueued have run (on the in-process
    runner, as in ``seva serve``), so tests read the outcome right after delivering."""

    def __init__(self, app, broker) -> None:
        super().__init__(app=app)
        self.broker = broker

    async def handle_async_request(self, request):
        response = await super().handle_async_request(request)
        await drain(self.broker)
        return response


@pytest.fixture
def hooks_client(inprocess_jobs):
    app = Starlette(routes=[Mount("/webhooks/razorpay", routes=routes())])
    return httpx.AsyncClient(transport=JoiningTransport(app, inprocess_jobs), base_url="http://seva.test")


def hook_url(tenant_id) -> str:
    return f"http://seva.test/webhooks/razorpay/{to_global_id('Tenant', tenant_id)}"


def client(cfg, **kw) -> RazorpayClient:
    return RazorpayClient(cfg, sleep=no_sleep, **kw)


def link_body(reference_id: str, amount: int = 50000, **extra) -> dict:
    return {"amount": amount, "currency": "INR", "reference_id": reference_id, "description": "Invoice",
            "customer": {"name": "Asha"}, "notify": {"sms": False, "email": False}, **extra}


def ref() -> str:
    return f"TEST-{random.randrange(10**12):012d}"


# ---------------------------------------------------------------- signatures and errors

def test_signature_helpers():
    assert sign("secret", "test").startswith("0329a06b")
    assert verify_checkout("order_1", "pay_1", sign("k", "order_1|pay_1"), "k")
    assert not verify_checkout("order_1", "pay_2", sign("k", "order_1|pay_1"), "k")
    assert verify_payment_link("plink_1", "INV-1", "paid", "pay_1", sign("k", "plink_1|INV-1|paid|pay_1"), "k")
    assert verify_subscription("pay_1", "sub_1", sign("k", "pay_1|sub_1"), "k")
    assert verify_webhook(b'{"a":1}', sign("w", b'{"a":1}'), "w")
    assert not verify_webhook(b'{"a":2}', sign("w", b'{"a":1}'), "w")
    assert not verify_webhook(b"x", None, "w") and not verify_webhook(b"x", "", "w")
    assert not verify_webhook(b"x", "ü" * 64, "w")  # non-ASCII does not crash the comparison


def test_error_bodies_parse_into_typed_errors():
    body = {"error": {"code": "BAD_REQUEST_ERROR", "description": "The amount must be an integer.", "field": "amount",
                      "source": "business", "step": "payment_initiation", "reason": "input_validation_failed"}}
    exc = RazorpayError.from_response(httpx.Response(400, json=body))
    assert ((exc.status, exc.code, exc.field, exc.reason, exc.retryable)
            == (400, "BAD_REQUEST_ERROR", "amount", "input_validation_failed", False))
    gateway = RazorpayError.from_response(httpx.Response(502, text="<html>bad gateway</html>"))
    assert (gateway.code, gateway.retryable) == ("SERVER_ERROR", True)
    dup = RazorpayError.from_response(httpx.Response(400, json={"error": {
        "code": "BAD_REQUEST_ERROR", "description": "Payment Link with reference id X already attempted", "field": "reference_id"}}))
    assert dup.duplicate and not exc.duplicate


# ---------------------------------------------------------------- the fake refuses what Razorpay refuses

async def test_fake_enforces_auth_and_payload_shape(fake, rzp):
    bad = RazorpayConfig.of(fake.key_id, "wrong-secret", "w", fake.base_url)
    async with client(bad) as c:
        with pytest.raises(RazorpayError) as exc:
            await c.create_order(10000, "INR", "r1")
    assert (exc.value.status, exc.value.code, exc.value.description) == (401, "BAD_REQUEST_ERROR", "Authentication failed")
    refused = {
        "below minimum": link_body(ref(), amount=99),
        "float amount": link_body(ref(), amount=100.5),
        "long reference": link_body("R" * 41),
        "unknown field": link_body(ref(), colour="blue"),
        "bad currency": link_body(ref(), currency="BDT"),
        "notify not bool": link_body(ref(), notify={"sms": "yes"}),
        "callback without get": link_body(ref(), callback_url="https://example.com/cb"),
    }
    async with client(rzp.config) as c:
        for name, body in refused.items():
            with pytest.raises(RazorpayError) as exc:
                await c.create_payment_link(body)
            assert exc.value.status == 400 and exc.value.code == "BAD_REQUEST_ERROR", name
        with pytest.raises(RazorpayError) as exc:
            await c.create_order(99, "INR", "r2")
        assert exc.value.field == "amount"
        with pytest.raises(RazorpayError) as exc:
            await c._create("orders", {"currency": "INR"}, None)
        assert exc.value.description == "The amount field is required."


async def test_a_repeated_reference_id_is_refused_by_the_fake_and_looked_up_by_the_client(fake, rzp):
    reference = ref()
    async with client(rzp.config) as c:
        first = await c.create_payment_link(link_body(reference))
        raw = await c.http.post("payment_links", json=link_body(reference))
        assert raw.status_code == 400 and "already attempted" in raw.json()["error"]["description"]
        again = await c.create_payment_link(link_body(reference))
    assert again["id"] == first["id"] and first["id"].startswith("plink_") and first["short_url"]
    assert [link for link in fake.state.links.values() if link["reference_id"] == reference] == [fake.state.links[first["id"]]]


# ---------------------------------------------------------------- retries and lookups

async def test_a_500_after_the_create_is_looked_up_not_repeated(fake, rzp):
    reference = ref()
    before = fake.count("POST", "/payment_links")
    fake.fail_next(1, 500, after_work=True)
    async with client(rzp.config) as c:
        link = await c.create_payment_link(link_body(reference))
    assert fake.count("POST", "/payment_links") - before == 1  # found by the lookup, never sent again
    assert [lk["id"] for lk in fake.state.links.values() if lk["reference_id"] == reference] == [link["id"]]


async def test_throttling_and_lost_creates_are_retried_once_each(fake, rzp):
    reference = ref()
    before = fake.count("POST", "/payment_links")
    fake.fail_next(2, 429)
    async with client(rzp.config) as c:
        link = await c.create_payment_link(link_body(reference))
        assert fake.count("POST", "/payment_links") - before == 3
        fake.fail_next(1, 503)  # refused before the work: the lookup finds nothing, the create is sent again
        second = await c.create_payment_link(link_body(ref()))
        assert second["id"] != link["id"]
        fake.fail_next(2, 502)  # reads retry too
        assert (await c.fetch_payment_link(link["id"]))["id"] == link["id"]


async def test_creates_without_a_lookup_key_are_not_retried_after_a_5xx(fake, rzp):
    before = fake.count("POST", "/plans")
    fake.fail_next(1, 500, after_work=True)
    async with client(rzp.config) as c:
        with pytest.raises(RazorpayError) as exc:
            await c.create_plan("monthly", 1, "Home 50", 49900, "INR")
    assert exc.value.code == "SERVER_ERROR" and fake.count("POST", "/plans") - before == 1


class TimeoutAfterSending(httpx.AsyncBaseTransport):
    """Forwards the first POST (Razorpay does the work) and then reports a read timeout."""

    def __init__(self) -> None:
        self.inner, self.tripped = httpx.AsyncHTTPTransport(), False

    async def handle_async_request(self, request):
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and not self.tripped:
            self.tripped = True
            await response.aread()
            raise httpx.ReadTimeout("timed out", request=request)
        return response


async def test_a_timed_out_create_is_looked_up(fake, rzp):
    receipt = ref()
    async with client(rzp.config, transport=TimeoutAfterSending()) as c:
        order = await c.create_order(25000, "INR", receipt)
    assert [o["id"] for o in fake.state.orders.values() if o["receipt"] == receipt] == [order["id"]]
    async with client(rzp.config, transport=TimeoutAfterSending()) as c:
        with pytest.raises(RazorpayUnavailable):  # no lookup key: not sent again
            await c.create_plan("monthly", 1, "Home", 49900, "INR")


# ---------------------------------------------------------------- end to end

async def test_plan_to_paid_invoice_through_the_fake(tenant, fake, rzp, hooks_client):
    await rzp(tenant.id)
    api = tenant.api
    plan_id = (await api.ok('mutation { planCreate(input: {name: "Home 50", amount: 49900, interval: MONTHLY, taxRateBp: 1800}) '
                            '{ plan { id } } }'))["planCreate"]["plan"]["id"]
    customer_id = (await api.ok('mutation { customerCreate(input: {name: "Asha Devi", phone: "98765 43210"}) { customer { id } } }')
                   )["customerCreate"]["customer"]["id"]
    sub = (await api.ok("mutation($c: ID!, $p: ID!) { subscriptionCreate(input: {customerId: $c, planId: $p}) { subscription { id } } }",
                        c=customer_id, p=plan_id))["subscriptionCreate"]["subscription"]
    invoice = (await api.ok("query($id: ID!) { subscription(id: $id) { invoices { edges { node { id number total { amount } } } } } }",
                            id=sub["id"]))["subscription"]["invoices"]["edges"][0]["node"]
    assert invoice["total"] == {"amount": "58882"}

    # unpaid past its due date: past due
    today = await tenant_today(tenant.id)
    sub_row = await Subscription.get(tenant_id=tenant.id)
    assert sub_row.id in await periodic.mark_overdue(at(today + timedelta(days=1)))

    link_query = ("mutation($i: ID!) { paymentLinkCreate(invoiceId: $i) { paymentLink { providerId referenceId status shortUrl "
                  "amount { amount } } errors { code message } } }")
    fake.fail_next(1, 500, after_work=True)  # Razorpay made it but the answer was lost
    link = (await api.ok(link_query, i=invoice["id"]))["paymentLinkCreate"]
    assert link["errors"] == [] and link["paymentLink"]["referenceId"] == invoice["number"]
    assert link["paymentLink"]["amount"] == {"amount": "58882"} and link["paymentLink"]["shortUrl"].startswith("https://rzp.io/")
    again = (await api.ok(link_query, i=invoice["id"]))["paymentLinkCreate"]["paymentLink"]
    assert again == link["paymentLink"]
    assert [lk for lk in fake.state.links.values() if lk["reference_id"] == invoice["number"]] == [fake.state.links[again["providerId"]]]

    captured, order_paid, link_paid = fake.pay_link(again["providerId"])
    url = hook_url(tenant.id)
    # a tampered body with the original signature: refused, nothing stored or changed
    tampered = link_paid.body.replace(b'"amount_paid":58882', b'"amount_paid":1')
    assert tampered != link_paid.body
    (refused,) = await fake.deliver(url, link_paid, body=tampered, client=hooks_client)
    assert refused.status_code == 400
    assert await GatewayEvent.filter(tenant_id=tenant.id).count() == 0

    # out of order: the link event first, then the others; then a replay storm
    for event in (link_paid, captured, order_paid):
        (response,) = await fake.deliver(url, event, client=hooks_client)
        assert response.status_code == 200 and response.json()["status"] == "accepted"
    replies = await fake.deliver(url, link_paid, times=10, client=hooks_client)
    assert {r.status_code for r in replies} == {200} and {r.json()["status"] for r in replies} == {"duplicate"}

    assert await Payment.filter(tenant_id=tenant.id).count() == 1
    payment = await Payment.get(tenant_id=tenant.id)
    assert (payment.amount, payment.provider, payment.status) == (58882, "razorpay", PaymentStatus.CAPTURED)
    state = await api.ok("query($id: ID!) { invoice(id: $id) { status amountDue { amount } paymentLink { status } "
                         "subscription { status } } }", id=invoice["id"])
    assert state["invoice"] == {"status": "PAID", "amountDue": {"amount": "0"}, "paymentLink": {"status": "paid"},
                                "subscription": {"status": "ACTIVE"}}
    assert await GatewayEvent.filter(tenant_id=tenant.id, processed_at__isnull=True).count() == 0


# ---------------------------------------------------------------- webhooks

async def test_webhooks_are_verified_with_the_tenants_own_secret(make_tenant, fake, rzp, hooks_client):
    a, b = await make_tenant(), await make_tenant()
    await rzp(a.id)
    await rzp(b.id, webhook_secret="another-secret")
    event = fake.event("payment.captured", payment={"id": "pay_x", "amount": 100, "currency": "INR", "status": "captured"})
    assert (await fake.deliver(hook_url(b.id), event, client=hooks_client))[0].status_code == 400  # signed with A's secret
    assert (await fake.deliver(hook_url(a.id), event, signature="", client=hooks_client))[0].status_code == 400
    assert (await fake.deliver(hook_url(a.id), event, signature="0" * 64, client=hooks_client))[0].status_code == 400
    nobody = "http://seva.test/webhooks/razorpay/" + to_global_id("Tenant", a.id).replace("V", "W")
    assert (await fake.deliver(nobody, event, client=hooks_client))[0].status_code == 400
    assert await GatewayEvent.filter(tenant_id__in=[a.id, b.id]).count() == 0
    ok = await fake.deliver(hook_url(a.id), event, client=hooks_client)
    assert ok[0].status_code == 200 and await GatewayEvent.filter(tenant_id=a.id).count() == 1


async def test_refund_events_before_their_payment_wait_and_then_apply(tenant, fake, rzp, hooks_client, monkeypatch):
    monkeypatch.setattr(webhooks, "RETRY_BASE_SECONDS", 0.3)
    await rzp(tenant.id)
    c = await customer(tenant.scope)
    from seva_crm.core.billing import invoices

    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": "x", "unit_amount": 30000}]})
    async with client(rzp.config) as rc:
        order = await rc.create_order(invoice.total, "INR", invoice.number, {"seva_invoice": str(invoice.id)})
    payment, _, (captured, order_paid) = fake.pay_order(order["id"])
    async with client(rzp.config) as rc:
        refund = await rc.refund(payment["id"], 10000, "r-1")
    processed = fake.refund_event(refund["id"])
    url = hook_url(tenant.id)
    await fake.deliver(url, processed, client=hooks_client)  # the refund before its payment: deferred
    row = await GatewayEvent.get(tenant_id=tenant.id, event_id=processed.id)
    assert row.processed_at is None and row.outcome.startswith("deferred")
    assert row.attempts == 1
    await fake.deliver(url, order_paid, client=hooks_client)
    for _ in range(150):  # the job's own delayed retry (RETRY_BASE_SECONDS, shortened here) applies it
        await row.refresh_from_db()
        if row.processed_at is not None:
            break
        await asyncio.sleep(0.1)
    assert row.processed_at is not None and row.outcome.endswith("refund recorded") and row.attempts >= 2
    await fake.deliver(url, fake.refund_event(refund["id"], "refund.created"), client=hooks_client)  # late and older: no change
    assert (await Refund.get(provider_refund_id=refund["id"])).status is RefundStatus.PROCESSED
    await invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.REFUNDED, invoice.total - 10000)  # owed no more
    await fake.deliver(url, captured, client=hooks_client)
    assert await Payment.filter(invoice_id=invoice.id).count() == 1


async def test_failed_payment_is_recorded_and_counts_for_nothing(tenant, fake, rzp, hooks_client):
    await rzp(tenant.id)
    c = await customer(tenant.scope)
    from seva_crm.core.billing import invoices

    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": "x", "unit_amount": 30000}]})
    async with client(rzp.config) as rc:
        order = await rc.create_order(invoice.total, "INR", invoice.number, {"seva_invoice": str(invoice.id)})
    await fake.deliver(hook_url(tenant.id), fake.fail_payment(order["id"]), client=hooks_client)
    failed = await Payment.get(invoice_id=invoice.id)
    assert failed.status is PaymentStatus.FAILED
    await invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.OPEN, 0)


async def test_subscription_events_move_the_subscription_in_order_only(tenant, fake, rzp, hooks_client):
    await rzp(tenant.id)
    sub = await subscription(tenant.scope)
    async with client(rzp.config) as rc:
        rplan = await rc.create_plan("monthly", 1, "Home 50", 49900, "INR")
        rsub = await rc.create_subscription(rplan["id"], 12)
    sub.gateway, sub.gateway_subscription_id = "razorpay", rsub["id"]
    await sub.save(update_fields=["gateway", "gateway_subscription_id"])
    url = hook_url(tenant.id)
    pending = fake.subscription_event(rsub["id"], "subscription.pending", "pending")
    halted = fake.subscription_event(rsub["id"], "subscription.halted", "halted")
    await fake.deliver(url, halted, client=hooks_client)  # past_due was skipped: active cannot be suspended
    await sub.refresh_from_db()
    assert sub.status is SubscriptionStatus.ACTIVE
    await fake.deliver(url, pending, client=hooks_client)  # older than the halted event already seen: stale
    await sub.refresh_from_db()
    assert sub.status is SubscriptionStatus.ACTIVE
    await fake.deliver(url, fake.subscription_event(rsub["id"], "subscription.pending", "pending"), client=hooks_client)
    await fake.deliver(url, fake.subscription_event(rsub["id"], "subscription.halted", "halted"), client=hooks_client)
    await sub.refresh_from_db()
    assert sub.status is SubscriptionStatus.SUSPENDED
    outcomes = await GatewayEvent.filter(tenant_id=tenant.id).order_by("created_at").values_list("outcome", flat=True)
    assert outcomes[1] == "stale event" and outcomes[-1] == "past_due -> suspended"


# ---------------------------------------------------------------- payment links through the gateway

async def test_payment_link_refusals_are_payload_errors(tenant, rzp):
    api = tenant.api
    c = (await api.ok('mutation { customerCreate(input: {name: "Tiny"}) { customer { id } } }'))["customerCreate"]["customer"]
    small = (await api.ok('mutation($c: ID!) { invoiceCreate(input: {customerId: $c, lines: [{description: "x", unitAmount: 50}]}) '
                          '{ invoice { id } } }', c=c["id"]))["invoiceCreate"]["invoice"]
    query = "mutation($i: ID!) { paymentLinkCreate(invoiceId: $i) { paymentLink { id } errors { code message } } }"
    not_set_up = (await api.ok(query, i=small["id"]))["paymentLinkCreate"]["errors"]
    assert not_set_up[0] == {"code": "INVALID", "message": "no payment gateway is set up for this tenant"}
    await rzp(tenant.id)
    refused = (await api.ok(query, i=small["id"]))["paymentLinkCreate"]["errors"]
    assert refused[0]["code"] == "GATEWAY_ERROR" and "minimum" in refused[0]["message"]
    assert await PaymentLink.filter(tenant_id=tenant.id).count() == 0


async def test_gateway_payments_are_refunded_at_razorpay(tenant, fake, rzp, hooks_client):
    await rzp(tenant.id)
    c = await customer(tenant.scope)
    from seva_crm.core.billing import invoices

    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": "x", "unit_amount": 30000}]})
    async with client(rzp.config) as rc:
        order = await rc.create_order(invoice.total, "INR", invoice.number, {"seva_invoice": str(invoice.id)})
    payment, _, (captured, _) = fake.pay_order(order["id"])
    await fake.deliver(hook_url(tenant.id), captured, client=hooks_client)
    ours = await Payment.get(provider_payment_id=payment["id"])
    result = await tenant.api.ok("mutation($p: ID!) { paymentRefund(input: {paymentId: $p, amount: 12000}) "
                                 "{ refund { amount status } errors { code message } } }", p=to_global_id("Payment", ours.id))
    assert result["paymentRefund"] == {"refund": {"amount": "12000", "status": "PROCESSED"}, "errors": []}
    assert fake.state.payments[payment["id"]]["amount_refunded"] == 12000
    refund = await Refund.get(payment_id=ours.id)
    assert refund.provider_refund_id.startswith("rfnd_")
    assert [r["receipt"] for r in fake.state.refunds.values() if r["payment_id"] == payment["id"]] == [refund.id.hex]


# ---------------------------------------------------------------- Checkout verification (the plugin's GraphQL)

VERIFY = """mutation($o: String!, $p: String!, $s: String!) { razorpayCheckoutVerify(orderId: $o, paymentId: $p, signature: $s) {
  valid payment { amount { amount } provider invoice { status } } errors { code } } }"""


async def test_checkout_verification_records_the_payment_once(make_tenant, fake, rzp):
    a, b = await make_tenant(), await make_tenant()
    await rzp(a.id)
    await rzp(b.id, key_secret="b-has-other-keys", webhook_secret="w")
    api_a, api_b = a.api, b.api  # the real app: the plugin's mutations are merged into its schema
    c = await customer(a.scope)
    from seva_crm.core.billing import invoices

    invoice = await invoices.create_invoice(a.scope, {"customer_id": c.id, "lines": [{"description": "x", "unit_amount": 20000}]})
    order = (await api_a.ok("mutation($i: ID!) { razorpayOrderCreate(invoiceId: $i) { orderId amount keyId errors { code } } }",
                            i=to_global_id("Invoice", invoice.id)))["razorpayOrderCreate"]
    assert order["amount"] == 20000 and order["keyId"] == fake.key_id and order["errors"] == []
    foreign = (await api_b.ok("mutation($i: ID!) { razorpayOrderCreate(invoiceId: $i) { orderId errors { code } } }",
                              i=to_global_id("Invoice", invoice.id)))["razorpayOrderCreate"]
    assert foreign == {"orderId": None, "errors": [{"code": "NOT_FOUND"}]}
    payment, signature, _ = fake.pay_order(order["orderId"])

    tampered = await api_a.ok(VERIFY, o=order["orderId"], p=payment["id"], s=signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    assert tampered["razorpayCheckoutVerify"] == {"valid": False, "payment": None, "errors": []}
    other_tenant = await api_b.ok(VERIFY, o=order["orderId"], p=payment["id"], s=signature)
    assert other_tenant["razorpayCheckoutVerify"]["valid"] is False
    assert await Payment.filter(invoice_id=invoice.id).count() == 0

    for _ in range(2):
        ok = (await api_a.ok(VERIFY, o=order["orderId"], p=payment["id"], s=signature))["razorpayCheckoutVerify"]
        assert ok == {"valid": True, "payment": {"amount": {"amount": "20000"}, "provider": "razorpay", "invoice": {"status": "PAID"}},
                      "errors": []}
    assert await Payment.filter(invoice_id=invoice.id).count() == 1


async def test_deferred_events_are_retried_a_bounded_number_of_times(tenant, fake, rzp, hooks_client, monkeypatch):
    monkeypatch.setattr(webhooks, "RETRY_BASE_SECONDS", 0.05)
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 3)
    assert hooks_client._transport.broker.get_actor(webhooks.PROCESS_JOB)  # declared through seva_actors
    await rzp(tenant.id)
    never = fake.event("refund.processed", refund={"id": "rfnd_orphan", "payment_id": "pay_never", "amount": 100})
    await fake.deliver(hook_url(tenant.id), never, client=hooks_client)
    row = await GatewayEvent.get(tenant_id=tenant.id, event_id=never.id)
    for _ in range(100):
        await row.refresh_from_db()
        if row.attempts >= 3:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # no fourth attempt comes
    await row.refresh_from_db()
    assert (row.attempts, row.processed_at) == (3, None) and row.outcome.startswith("deferred")


async def test_concurrent_deliveries_of_one_event_store_it_once(tenant, fake, rzp, hooks_client):
    await rzp(tenant.id)
    event = fake.event("payment_link.expired", payment_link={"id": "plink_nothing", "status": "expired"})
    replies = await asyncio.gather(*(fake.deliver(hook_url(tenant.id), event, client=hooks_client) for _ in range(5)))
    statuses = sorted(json.loads(r[0].content)["status"] for r in replies)
    assert statuses.count("accepted") == 1 and {r[0].status_code for r in replies} == {200}
    assert await GatewayEvent.filter(tenant_id=tenant.id).count() == 1
