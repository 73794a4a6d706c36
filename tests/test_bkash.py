"""The bkash plugin against a local fake bKash over real HTTP: a Bangladeshi household pays its
invoice from the link staff made, through the fake's checkout page and the browser's return;
replays, an execute that times out, a late payment after cash, a wrong amount, refunds, bad
credentials and tokens, and BDT only."""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from seva_crm.core.billing import invoices
from seva_crm.core.common.enums import InvoiceStatus, PaymentStatus, RefundStatus, Region, Role
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.security import utcnow
from seva_crm.core.models import AuditEvent, GatewayEvent, GatewayReview, Invoice, Payment, PaymentLink, Refund
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.plugins.bkash import adapter, webhooks
from seva_crm.plugins.bkash.client import BkashClient, forget_tokens
from seva_crm.plugins.bkash.config import BkashConfig
from seva_crm.plugins.bkash.errors import BkashError
from seva_crm.plugins.bkash.fake import FakeBkash
from tests.billing_helpers import customer
from tests.jobs_support import drain, inprocess_jobs  # noqa: F401 - a fixture

LINK = ("mutation($i: ID!) { paymentLinkCreate(invoiceId: $i) { paymentLink { provider providerId shortUrl status } "
        "errors { code message } } }")
REVIEWS = ("query($r: Boolean) { gatewayReviews(resolved: $r) { id provider kind amount currency expectedAmount detail resolution "
           "invoice { number status } } }")
RESOLVE = ("mutation($id: ID!, $r: GatewayReviewResolution!) { gatewayReviewResolve(id: $id, resolution: $r) { "
           "review { resolution providerRefundId } errors { code message } } }")


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture(scope="session")
def fake():
    server = FakeBkash()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bkash(fake, plugin_env):
    """The instance pointed at the fake (SEVA_BKASH_BASE_URL), and a helper enabling bKash for a
    tenant through the real per-tenant plugin settings (secrets encrypted)."""
    plugin_env(SEVA_BKASH_BASE_URL=fake.base_url)
    forget_tokens()

    async def setup(tenant_id, password=fake.password):
        await update_plugin_settings(tenant_id, "bkash", enabled=True, settings={
            "appKey": fake.app_key, "appSecret": fake.app_secret, "username": fake.username, "password": password})

    setup.config = BkashConfig.of(fake.app_key, fake.app_secret, fake.username, fake.password, fake.base_url)
    return setup


class AnswerLost(httpx.AsyncBaseTransport):
    """Real HTTP to the fake, except that the first call to ``path`` is carried out by bKash and
    its answer lost: the client sees a read timeout."""

    def __init__(self, path: str) -> None:
        self.inner, self.path, self.tripped = httpx.AsyncHTTPTransport(), path, False

    async def handle_async_request(self, request):
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith(self.path) and not self.tripped:
            self.tripped = True
            await response.aread()
            raise httpx.ReadTimeout("timed out", request=request)
        return response


def lose_answer(monkeypatch, module, path: str) -> None:
    """The clients ``module`` makes lose the answer of their first call to ``path``."""
    transport = AnswerLost(path)
    monkeypatch.setattr(module, "BkashClient", functools.partial(BkashClient, transport=transport))


class JoiningTransport(httpx.ASGITransport):
    """Each request returns once the jobs it enqueued have run (the in-process runner)."""

    def __init__(self, app, broker) -> None:
        super().__init__(app=app)
        self.broker = broker

    async def handle_async_request(self, request):
        response = await super().handle_async_request(request)
        await drain(self.broker)
        return response


@pytest.fixture
def browser(inprocess_jobs):
    """The payer's browser on our side: the plugin's routes, as mounted under /webhooks/bkash."""
    app = Starlette(routes=[Mount("/webhooks/bkash", routes=webhooks.routes())])
    return httpx.AsyncClient(transport=JoiningTransport(app, inprocess_jobs), base_url="http://seva.test")


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def bd_household(make_tenant, bkash, amount: int = 50000):
    """A Bangladeshi ISP with bKash set up, and a household's open invoice (BDT)."""
    tenant = await make_tenant(region=Region.BD, name="Sylhet Net")
    await bkash(tenant.id)
    c = await customer(tenant.scope, name="Rahima Begum", phone="+8801712345678")
    lines = [{"description": "Home 20 Mbps", "unit_amount": amount}]
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": lines})
    assert invoice.currency.value == "BDT"
    return tenant, invoice


async def link_for(tenant, invoice) -> dict:
    body = (await tenant.api.ok(LINK, i=to_global_id("Invoice", invoice.id)))["paymentLinkCreate"]
    assert body["errors"] == []
    return body["paymentLink"]


async def start_checkout(browser, link: dict) -> str:
    """The household opens the link: we start a checkout at bKash and send them there."""
    started = await browser.get(local(link["shortUrl"]))
    assert started.status_code == 303
    return started.headers["location"]


# ---------------------------------------------------------------- end to end


async def test_a_bd_household_pays_by_bkash_once_whatever_the_browser_repeats(make_tenant, fake, bkash, browser):
    tenant, invoice = await bd_household(make_tenant, bkash)
    grants = fake.count("/token/grant")
    link = await link_for(tenant, invoice)
    assert link["provider"] == "bkash" and link["providerId"] == invoice.number
    assert await link_for(tenant, invoice) == link  # asked twice: the same link

    bkash_url = await start_checkout(browser, link)
    payment_id = bkash_url.rsplit("/", 1)[1]
    assert fake.payments[payment_id].amount == 50000 and fake.payments[payment_id].invoice_number == invoice.number
    back = await fake.pay(bkash_url)
    assert "status=success" in back and payment_id in back

    returned = await browser.get(local(back))
    assert returned.status_code == 200 and "Payment received" in returned.text and "Sylhet Net" in returned.text
    for _ in range(3):  # the browser repeats the redirect (reload, back button)
        assert "Payment received" in (await browser.get(local(back))).text

    payment = await Payment.get(tenant_id=tenant.id)
    assert (payment.amount, payment.currency.value, payment.provider, payment.provider_payment_id, payment.status) == (
        50000, "BDT", "bkash", payment_id, PaymentStatus.CAPTURED)
    assert payment.reference == fake.payments[payment_id].trx_id  # the trxID the household sees on their SMS
    await invoice.refresh_from_db()
    assert invoice.status is InvoiceStatus.PAID
    assert (await PaymentLink.get(tenant_id=tenant.id)).status == "paid"
    assert fake.payments[payment_id].executions == 1
    assert fake.count("/token/grant") - grants == 1  # one grant, cached for every later call
    assert await GatewayEvent.filter(tenant_id=tenant.id, name=webhooks.CALLBACK).count() == 1


async def test_checkouts_nobody_came_back_from_are_settled_or_closed_after_the_window(make_tenant, fake, bkash, browser):
    tenant, invoice = await bd_household(make_tenant, bkash)
    link = await link_for(tenant, invoice)
    # one attempt is authorised at bKash but the browser never comes back; another is left on bKash's page
    authorised_url = await start_checkout(browser, link)
    await fake.pay(authorised_url)  # the redirect to our callback is never followed
    left_url = await start_checkout(browser, link)
    authorised, left = authorised_url.rsplit("/", 1)[1], left_url.rsplit("/", 1)[1]
    started = utcnow()

    assert await webhooks.expire_abandoned(started + timedelta(minutes=29)) == 0  # still within the window
    assert fake.payments[authorised].executions == 0 and not await Payment.filter(tenant_id=tenant.id).exists()

    assert await webhooks.expire_abandoned(started + timedelta(minutes=31)) >= 2  # (the sweep is instance-wide)
    payment = await Payment.get(tenant_id=tenant.id)
    assert (payment.provider_payment_id, payment.amount) == (authorised, 50000)
    await invoice.refresh_from_db()
    assert invoice.status is InvoiceStatus.PAID
    assert fake.payments[authorised].executions == 1 and fake.payments[left].executions == 0
    rows = {r.payload["paymentID"]: r for r in await GatewayEvent.filter(tenant_id=tenant.id, name=webhooks.CREATED)}
    assert all(r.processed_at is not None for r in rows.values())
    assert "not completed" in rows[left].outcome
    # closed for good: a later sweep asks bKash nothing more
    calls = len(fake.calls)
    await webhooks.expire_abandoned(started + timedelta(hours=3))
    assert len(fake.calls) == calls


async def test_an_unsigned_redirect_records_nothing(make_tenant, fake, bkash, browser):
    tenant, invoice = await bd_household(make_tenant, bkash)
    link = await link_for(tenant, invoice)
    bkash_url = await start_checkout(browser, link)
    payment_id = bkash_url.rsplit("/", 1)[1]
    callback = local(link["shortUrl"]).split("/pay/")[0] + "/callback"
    executes = fake.count("/execute")
    # the payer has not paid: a forged "success" only makes us ask bKash, which refuses to execute
    forged = await browser.get(f"{callback}?paymentID={payment_id}&status=success")
    assert "not completed" in forged.text
    # failure and cancel are not even sent to bKash
    for status in ("failure", "cancel"):
        assert "not completed" in (await browser.get(f"{callback}?paymentID={payment_id}&status={status}")).text
    assert (await browser.get(f"{callback}?paymentID={payment_id}&status=maybe")).status_code == 400
    nobody = callback.replace(callback.split("/")[3], to_global_id("Tenant", invoice.id))
    assert (await browser.get(f"{nobody}?paymentID={payment_id}&status=success")).status_code == 400
    assert fake.count("/execute") - executes == 1
    assert await Payment.filter(tenant_id=tenant.id).count() == 0
    await invoice.refresh_from_db()
    assert invoice.status is InvoiceStatus.OPEN
    # a tampered pay link starts nothing
    tampered = local(link["shortUrl"])[:-2] + ("AA" if not local(link["shortUrl"]).endswith("AA") else "BB")
    assert (await browser.get(tampered)).status_code == 404


async def test_an_execute_timeout_is_resolved_by_a_status_query_never_a_second_execute(make_tenant, fake, bkash, browser,
                                                                                      monkeypatch):
    tenant, invoice = await bd_household(make_tenant, bkash)
    bkash_url = await start_checkout(browser, await link_for(tenant, invoice))
    payment_id = bkash_url.rsplit("/", 1)[1]
    back = await fake.pay(bkash_url)
    lose_answer(monkeypatch, webhooks, "/execute")  # bKash executes, but its answer never reaches us
    statuses = fake.count("/payment/status")
    assert "Payment received" in (await browser.get(local(back))).text
    assert fake.count("/payment/status") - statuses == 1
    assert fake.payments[payment_id].executions == 1
    assert [p.amount for p in await Payment.filter(tenant_id=tenant.id)] == [50000]


async def test_a_system_error_on_execute_is_settled_by_the_job_asking_the_status_first(make_tenant, fake, bkash, browser, monkeypatch):
    monkeypatch.setattr(webhooks, "RETRY_BASE_SECONDS", 0.05)
    tenant, invoice = await bd_household(make_tenant, bkash)
    bkash_url = await start_checkout(browser, await link_for(tenant, invoice))
    payment_id = bkash_url.rsplit("/", 1)[1]
    back = await fake.pay(bkash_url)
    fake.script("/execute", "9999")  # refused before any work: bKash still says Initiated
    first = await browser.get(local(back))
    assert "confirming" in first.text
    row = await GatewayEvent.get(tenant_id=tenant.id, event_id=payment_id)
    for _ in range(300):  # the job's delayed retry: status (Initiated), then the one execute
        await row.refresh_from_db()
        if row.processed_at is not None:
            break
        await asyncio.sleep(0.05)
    assert fake.payments[payment_id].executions == 1
    assert await Payment.filter(tenant_id=tenant.id).count() == 1
    assert row.processed_at is not None and row.attempts == 2 and "recorded" in row.outcome


# ---------------------------------------------------------------- held for staff


async def test_a_payment_after_the_invoice_was_paid_in_cash_is_held_as_an_overpayment_and_refunded(make_tenant, fake, bkash, browser):
    tenant, invoice = await bd_household(make_tenant, bkash)
    bkash_url = await start_checkout(browser, await link_for(tenant, invoice))
    payment_id = bkash_url.rsplit("/", 1)[1]
    cash = await tenant.api.ok("mutation($i: ID!) { paymentRecord(input: {invoiceId: $i, amount: 50000, method: CASH}) "
                               "{ errors { code } } }", i=to_global_id("Invoice", invoice.id))
    assert cash["paymentRecord"]["errors"] == []
    back = await fake.pay(bkash_url)  # the household pays by bKash anyway
    assert "staff will check" in (await browser.get(local(back))).text
    assert "staff will check" in (await browser.get(local(back))).text  # a replay holds nothing new

    assert [p.method.value for p in await Payment.filter(invoice_id=invoice.id)] == ["cash"]  # never a second payment
    await invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, 50000)
    (review,) = (await tenant.api.ok(REVIEWS, r=False))["gatewayReviews"]
    assert review | {"id": None} == {"id": None, "provider": "bkash", "kind": "OVERPAYMENT", "amount": "50000", "currency": "BDT",
                                     "expectedAmount": "0", "detail": "the invoice had nothing left to pay", "resolution": None,
                                     "invoice": {"number": invoice.number, "status": "PAID"}}
    held = await AuditEvent.filter(tenant_id=tenant.id, action="billing.gateway_payment_held").get()
    assert held.details["provider_payment_id"] == payment_id and held.actor_type == "system"

    accepted = (await tenant.api.ok(RESOLVE, id=review["id"], r="ACCEPTED"))["gatewayReviewResolve"]
    assert accepted["review"] is None and accepted["errors"][0]["code"] == "INVALID"
    both = await asyncio.gather(*(tenant.api.ok(RESOLVE, id=review["id"], r="REFUNDED") for _ in range(2)))  # two staff at once
    refunded, again = sorted((b["gatewayReviewResolve"] for b in both), key=lambda r: bool(r["errors"]))
    assert refunded["errors"] == [] and refunded["review"]["resolution"] == "REFUNDED"
    assert again["review"] is None and again["errors"][0]["code"] == "INVALID"
    (made,) = fake.payments[payment_id].refunds  # refunded once
    assert (made["amount"], made["refundTrxID"]) == ("500.00", refunded["review"]["providerRefundId"])
    resolved = await AuditEvent.filter(tenant_id=tenant.id, action="billing.gateway_review_resolved").get()
    assert resolved.actor_type == "user" and resolved.actor_id and resolved.details["resolution"] == "refunded"
    assert (await tenant.api.ok(REVIEWS, r=False))["gatewayReviews"] == []


async def test_a_wrong_amount_is_refused_and_held_until_staff_accept_it(make_tenant, fake, bkash, browser):
    tenant, invoice = await bd_household(make_tenant, bkash)
    link = await link_for(tenant, invoice)
    callback = link["shortUrl"].split("/pay/")[0] + "/callback"
    async with BkashClient(bkash.config, sleep=no_sleep) as client:  # a checkout for less than is due, as a tampered page would
        created = await client.create_payment(amount="400.00", payer_reference=invoice.number, callback_url=callback,
                                              invoice_number=invoice.number)
    back = await fake.pay(created["bkashURL"])
    assert "staff will check" in (await browser.get(local(back))).text
    assert await Payment.filter(invoice_id=invoice.id).count() == 0
    (review,) = (await tenant.api.ok(REVIEWS))["gatewayReviews"]
    assert (review["kind"], review["amount"], review["expectedAmount"]) == ("AMOUNT_MISMATCH", "40000", "50000")
    agent = await tenant.api_as(Role.AGENT)  # resolving is an admin's call
    forbidden = await agent(RESOLVE, id=review["id"], r="ACCEPTED")
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    accepted = (await tenant.api.ok(RESOLVE, id=review["id"], r="ACCEPTED"))["gatewayReviewResolve"]
    assert accepted["errors"] == [] and accepted["review"]["resolution"] == "ACCEPTED"
    payment = await Payment.get(invoice_id=invoice.id)
    assert (payment.amount, payment.provider_payment_id) == (40000, created["paymentID"])
    await invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.OPEN, 40000)


# ---------------------------------------------------------------- refunds


async def test_refunds_go_back_through_bkash_even_when_the_answer_is_lost(make_tenant, fake, bkash, browser, monkeypatch):
    tenant, invoice = await bd_household(make_tenant, bkash)
    bkash_url = await start_checkout(browser, await link_for(tenant, invoice))
    await browser.get(local(await fake.pay(bkash_url)))
    payment = await Payment.get(invoice_id=invoice.id)
    refund = "mutation($p: ID!, $a: Int!) { paymentRefund(input: {paymentId: $p, amount: $a, reason: \"double billed\"}) " \
             "{ refund { amount status } errors { code message } } }"
    pid = to_global_id("Payment", payment.id)
    assert (await tenant.api.ok(refund, p=pid, a=20000))["paymentRefund"] == {
        "refund": {"amount": "20000", "status": "PROCESSED"}, "errors": []}
    lose_answer(monkeypatch, adapter, "/payment/refund")  # bKash refunds, the answer is lost: found by our receipt, not repeated
    assert (await tenant.api.ok(refund, p=pid, a=10000))["paymentRefund"]["errors"] == []
    made = fake.payments[payment.provider_payment_id].refunds
    assert [r["amount"] for r in made] == ["200.00", "100.00"]
    ours = await Refund.filter(payment_id=payment.id).order_by("created_at")
    assert [r.provider_refund_id for r in ours] == [r["refundTrxID"] for r in made]
    assert [r.id.hex[:32] for r in ours] == [r["sku"] for r in made] and {r.status for r in ours} == {RefundStatus.PROCESSED}
    too_much = (await tenant.api.ok(refund, p=pid, a=30000))["paymentRefund"]
    assert too_much["errors"][0]["code"] == "INVALID" and len(made) == 2
    await invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.REFUNDED, 20000)  # refunded: never dunned again


# ---------------------------------------------------------------- credentials, tokens, the fake's contract


async def test_wrong_credentials_are_refused_when_the_link_is_made(make_tenant, fake, bkash):
    tenant = await make_tenant(region=Region.BD)
    await bkash(tenant.id, password="not-the-password")
    c = await customer(tenant.scope)
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": "x", "unit_amount": 30000}]})
    body = (await tenant.api.ok(LINK, i=to_global_id("Invoice", invoice.id)))["paymentLinkCreate"]
    assert body["paymentLink"] is None and body["errors"][0]["code"] == "GATEWAY_ERROR"
    assert "2001" in body["errors"][0]["message"] and "not-the-password" not in body["errors"][0]["message"]
    assert await PaymentLink.filter(tenant_id=tenant.id).count() == 0


async def test_the_token_is_cached_refreshed_and_replaced_when_refused(fake, bkash, clock):
    async with BkashClient(bkash.config, sleep=no_sleep) as client:
        grants, refreshes = fake.count("/token/grant"), fake.count("/token/refresh")
        created = await client.create_payment(amount="10.00", payer_reference="r", callback_url="https://x.test/cb", invoice_number="T-1")
        await client.status(created["paymentID"])
        assert (fake.count("/token/grant") - grants, fake.count("/token/refresh") - refreshes) == (1, 0)
        clock.advance(minutes=60)  # about to expire: refreshed, not granted again
        await client.status(created["paymentID"])
        assert (fake.count("/token/grant") - grants, fake.count("/token/refresh") - refreshes) == (1, 1)
        fake.revoke_tokens()  # bKash no longer knows our token: 2079, a new grant, the call again
        assert (await client.status(created["paymentID"]))["transactionStatus"] == "Initiated"
        assert fake.count("/token/grant") - grants == 2


async def test_the_fake_refuses_what_bkash_refuses(fake, bkash):
    good = {"amount": "500.00", "payer_reference": "INV-1", "callback_url": "https://x.test/cb", "invoice_number": "INV-1"}
    async with BkashClient(bkash.config, sleep=no_sleep) as client:
        for bad, code in (({"amount": "500"}, "2007"), ({"amount": "0.00"}, "2007"), ({"amount": "5,00.00"}, "2007"),
                          ({"invoice_number": ""}, "2065")):
            with pytest.raises(BkashError) as exc:
                await client.create_payment(**(good | bad))
            assert exc.value.code == code and not exc.value.retryable
        with pytest.raises(BkashError) as exc:
            await client._call("tokenized/checkout/create", {"mode": "0011", "payerReference": "r", "callbackURL": "https://x.test/cb",
                                                              "amount": "5.00", "currency": "INR", "intent": "sale",
                                                              "merchantInvoiceNumber": "I"})
        assert exc.value.code == "2008"
        created = await client.create_payment(**good)
        with pytest.raises(BkashError) as exc:  # the payer has not paid yet
            await client._call("tokenized/checkout/execute", {"paymentID": created["paymentID"]})
        assert exc.value.code == "2056"
        await fake.pay(created["bkashURL"])
        executed = await client._call("tokenized/checkout/execute", {"paymentID": created["paymentID"]})
        assert (executed["transactionStatus"], executed["amount"], executed["currency"]) == ("Completed", "500.00", "BDT")
        with pytest.raises(BkashError) as exc:
            await client._call("tokenized/checkout/execute", {"paymentID": created["paymentID"]})
        assert exc.value.code == "2117"
        assert (await client.execute(created["paymentID"]))["trxID"] == executed["trxID"]  # ours asks the status instead
        assert (await client.search(executed["trxID"]))["transactionStatus"] == "Completed"
        with pytest.raises(BkashError) as exc:
            await client.refund(payment_id=created["paymentID"], trx_id=executed["trxID"], amount="600.00", sku="s", reason="r")
        assert exc.value.code == "2071"
    wrong = BkashConfig.of(fake.app_key, "wrong-secret", fake.username, fake.password, fake.base_url)
    async with BkashClient(wrong, sleep=no_sleep) as client:
        with pytest.raises(BkashError) as exc:
            await client.check_credentials()
        assert exc.value.code == "2001"
    fake.script("/payment/status", "500")
    fake.script("/payment/status", "9999")
    async with BkashClient(bkash.config, sleep=no_sleep) as client:  # reads retry 5xx and 9999
        assert (await client.status(created["paymentID"]))["transactionStatus"] == "Completed"


# ---------------------------------------------------------------- one currency per gateway


async def test_bdt_goes_to_bkash_and_razorpay_still_refuses_it(make_tenant, fake, bkash, plugin_env):
    from tests.test_razorpay import configure_razorpay
    from seva_crm.plugins.razorpay.fake import FakeRazorpay

    rzp = FakeRazorpay()
    rzp.start()
    try:
        plugin_env(SEVA_RAZORPAY_BASE_URL=rzp.base_url, SEVA_BKASH_BASE_URL=fake.base_url)
        bd = await make_tenant(region=Region.BD)
        from tests.test_privacy_enforcement import update  # Razorpay processes data in India: authorise it first
        assert (await update(bd.api, "bangladesh", settings={"authorisedTransferCountries": ["IN"]}))["errors"] == []
        await configure_razorpay(bd.id, rzp.key_id, rzp.key_secret, rzp.webhook_secret)
        c = await customer(bd.scope)
        invoice = await invoices.create_invoice(bd.scope, {"customer_id": c.id, "lines": [{"description": "x", "unit_amount": 30000}]})
        refused = (await bd.api.ok(LINK, i=to_global_id("Invoice", invoice.id)))["paymentLinkCreate"]
        assert refused["errors"] == [{"code": "GATEWAY_ERROR", "message": "Razorpay takes INR only, not BDT"}]
        assert rzp.state.links == {}

        india = await make_tenant(region=Region.IN)
        await bkash(india.id)
        c = await customer(india.scope)
        inr = await invoices.create_invoice(india.scope, {"customer_id": c.id, "lines": [{"description": "x", "unit_amount": 30000}]})
        refused = (await india.api.ok(LINK, i=to_global_id("Invoice", inr.id)))["paymentLinkCreate"]
        assert refused["errors"] == [{"code": "GATEWAY_ERROR", "message": "bKash takes BDT only, not INR"}]
    finally:
        rzp.stop()
    assert await GatewayReview.filter(tenant_id=bd.id).count() == 0 and await Invoice.filter(tenant_id=bd.id).count() == 1
