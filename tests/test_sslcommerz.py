"""The sslcommerz plugin against a local fake SSLCommerz over real HTTP: a Bangladeshi household
pays its invoice from the link staff made; the IPN and the browser's return in either order and
repeated, checked by verify_sign and the mandatory validation call; risk holds, late and wrong
payments held for staff, refunds followed to their end, bad signatures and credentials, BDT only."""

from __future__ import annotations

import asyncio
import hashlib
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from seva_crm.core.billing import invoices
from seva_crm.core.common.enums import InvoiceStatus, PaymentStatus, RefundStatus, Region
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import GatewayEvent, GatewayReview, Payment, PaymentLink, Refund
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.plugins.sslcommerz import webhooks
from seva_crm.plugins.sslcommerz.fake import FakeSslcommerz
from seva_crm.plugins.sslcommerz.signatures import sign, verify
from tests.billing_helpers import customer
from tests.jobs_support import drain, inprocess_jobs  # noqa: F401 - a fixture

LINK = "mutation($i: ID!) { paymentLinkCreate(invoiceId: $i) { paymentLink { provider shortUrl } errors { code message } } }"
REVIEWS = "{ gatewayReviews { id kind amount expectedAmount detail } }"
RESOLVE = ("mutation($id: ID!, $r: GatewayReviewResolution!) { gatewayReviewResolve(id: $id, resolution: $r) { "
           "review { resolution } errors { code message } } }")
REFUND = ("mutation($p: ID!, $a: Int!) { paymentRefund(input: {paymentId: $p, amount: $a}) { refund { amount status } "
          "errors { code message } } }")
VALIDATION = "validationserverAPI.php"


@pytest.fixture(scope="session")
def fake():
    server = FakeSslcommerz()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ssl(fake, plugin_env):
    """The instance pointed at the fake (SEVA_SSLCOMMERZ_BASE_URL), and a helper enabling
    SSLCommerz for a tenant through the real per-tenant plugin settings (password encrypted)."""
    plugin_env(SEVA_SSLCOMMERZ_BASE_URL=fake.base_url)
    fake.refunds_processing = False

    async def setup(tenant_id, store_passwd=fake.store_passwd):
        await update_plugin_settings(tenant_id, "sslcommerz", enabled=True,
                                     settings={"storeId": fake.store_id, "storePasswd": store_passwd})
    return setup


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
def web(inprocess_jobs):
    """SSLCommerz's servers and the payer's browser reaching our side: the plugin's routes."""
    app = Starlette(routes=[Mount("/webhooks/sslcommerz", routes=webhooks.routes())])
    return httpx.AsyncClient(transport=JoiningTransport(app, inprocess_jobs), base_url="http://seva.test")


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def bd_household(make_tenant, ssl, amount: int = 50000):
    tenant = await make_tenant(region=Region.BD, name="Chattogram Broadband")
    await ssl(tenant.id)
    c = await customer(tenant.scope, name="Abdul Karim", phone="+8801812345678", email="karim@example.com")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": "Home 20 Mbps",
                                                                                           "unit_amount": amount}]})
    return tenant, invoice


async def checkout(tenant, invoice, web, fake, **paid):
    """Staff make the link; the household opens it and pays on SSLCommerz's page."""
    body = (await tenant.api.ok(LINK, i=to_global_id("Invoice", invoice.id)))["paymentLinkCreate"]
    assert body["errors"] == [] and body["paymentLink"]["provider"] == "sslcommerz"
    opened = await web.get(local(body["paymentLink"]["shortUrl"]))
    assert opened.status_code == 303
    ipn_url, ipn, back_url, back = await fake.pay(opened.headers["location"], **paid)
    return local(ipn_url), ipn, local(back_url), back


# ---------------------------------------------------------------- verify_sign


def test_verify_sign_is_md5_over_the_listed_keys_and_the_hashed_password():
    fields = {"tran_id": "INV-1-ab", "val_id": "v1", "amount": "500.00", "status": "VALID"}
    passwd_md5 = hashlib.md5(b"secret@ssl").hexdigest()
    expected = hashlib.md5(f"amount=500.00&status=VALID&store_passwd={passwd_md5}&tran_id=INV-1-ab&val_id=v1".encode()).hexdigest()
    assert sign(fields, ["val_id", "tran_id", "amount", "status"], "secret@ssl") == expected
    signed = {**fields, "verify_key": "amount,status,tran_id,val_id", "verify_sign": expected}
    assert verify(signed, "secret@ssl")
    assert not verify({**signed, "amount": "5000.00"}, "secret@ssl")
    assert not verify(signed, "another@ssl")
    assert not verify({**signed, "verify_sign": ""}, "secret@ssl") and not verify({**signed, "verify_key": ""}, "secret@ssl")
    assert not verify({**signed, "verify_key": "amount,missing"}, "secret@ssl")
    assert not verify({**signed, "verify_sign": "ü" * 32}, "secret@ssl")


# ---------------------------------------------------------------- end to end


async def test_a_bd_household_pays_by_sslcommerz_once_whatever_arrives_first(make_tenant, fake, ssl, web):
    tenant, invoice = await bd_household(make_tenant, ssl)
    ipn_path, ipn, back_path, back = await checkout(tenant, invoice, web, fake)
    session = fake.transactions[ipn["tran_id"]].session
    assert (session["total_amount"], session["currency"], session["cus_name"], session["value_a"]) == (
        "500.00", "BDT", "Abdul Karim", str(invoice.id))
    assert ipn["tran_id"].startswith(invoice.number + "-")
    validations = fake.count(VALIDATION)

    # the IPN first, then the browser, then SSLCommerz repeating its IPN
    assert (await web.post(ipn_path, data=ipn)).json() == {"status": "accepted"}
    returned = await web.post(back_path, data=back)
    assert "Payment received" in returned.text and "Chattogram Broadband" in returned.text
    for _ in range(3):
        assert (await web.post(ipn_path, data=ipn)).json() == {"status": "duplicate"}

    payment = await Payment.get(tenant_id=tenant.id)
    assert (payment.amount, payment.currency.value, payment.provider, payment.provider_payment_id, payment.status) == (
        50000, "BDT", "sslcommerz", ipn["tran_id"], PaymentStatus.CAPTURED)
    assert fake.count(VALIDATION) - validations == 1  # validated once, before recording
    await invoice.refresh_from_db()
    assert invoice.status is InvoiceStatus.PAID
    assert (await PaymentLink.get(tenant_id=tenant.id)).status == "paid"


async def test_the_browser_before_the_ipn_records_once_too(make_tenant, fake, ssl, web):
    tenant, invoice = await bd_household(make_tenant, ssl)
    ipn_path, ipn, back_path, back = await checkout(tenant, invoice, web, fake)
    assert "Payment received" in (await web.post(back_path, data=back)).text
    assert (await web.post(ipn_path, data=ipn)).json() == {"status": "duplicate"}
    assert await Payment.filter(tenant_id=tenant.id).count() == 1
    assert await GatewayEvent.filter(tenant_id=tenant.id).count() == 1


async def test_unsigned_or_unvalidated_notifications_record_nothing(make_tenant, fake, ssl, web):
    tenant, invoice = await bd_household(make_tenant, ssl)
    ipn_path, ipn, back_path, back = await checkout(tenant, invoice, web, fake)
    tampered = {**ipn, "amount": "5.00", "currency_amount": "5.00"}
    assert (await web.post(ipn_path, data=tampered)).status_code == 400
    assert (await web.post(ipn_path, data={k: v for k, v in ipn.items() if k != "verify_sign"})).status_code == 400
    resigned = {**ipn, "verify_sign": sign(ipn, ipn["verify_key"].split(","), "someone-else@ssl")}
    assert (await web.post(ipn_path, data=resigned)).status_code == 400
    assert (await web.post(back_path, data={**back, "status": "VALID", "val_id": "forged"})).status_code == 400
    nobody = ipn_path.replace(ipn_path.split("/")[3], to_global_id("Tenant", invoice.id))
    assert (await web.post(nobody, data=ipn)).status_code == 400
    assert await GatewayEvent.filter(tenant_id=tenant.id).count() == 0

    # signed with the store's password, but SSLCommerz never validated this val_id: not recorded
    keys = ipn["verify_key"].split(",")
    unknown = {**ipn, "val_id": "never-issued", "tran_id": ipn["tran_id"][:-1] + "x"}
    unknown["verify_sign"] = sign(unknown, keys, fake.store_passwd)
    assert (await web.post(ipn_path, data=unknown)).json() == {"status": "accepted"}
    row = await GatewayEvent.get(tenant_id=tenant.id)
    assert row.processed_at is not None and "INVALID_TRANSACTION" in row.outcome
    assert await Payment.filter(tenant_id=tenant.id).count() == 0


async def test_failed_and_cancelled_payments_are_kept_for_the_record_only(make_tenant, fake, ssl, web):
    tenant, invoice = await bd_household(make_tenant, ssl)
    ipn_path, ipn, back_path, back = await checkout(tenant, invoice, web, fake, status="FAILED")
    validations = fake.count(VALIDATION)
    assert (await web.post(ipn_path, data=ipn)).json() == {"status": "accepted"}
    assert "not completed" in (await web.post(back_path, data=back)).text
    assert fake.count(VALIDATION) == validations and await Payment.filter(tenant_id=tenant.id).count() == 0
    assert (await GatewayEvent.get(tenant_id=tenant.id)).outcome.endswith("FAILED: nothing recorded")


async def test_a_validation_outage_is_retried_by_the_job(make_tenant, fake, ssl, web, monkeypatch):
    monkeypatch.setattr(webhooks, "RETRY_BASE_SECONDS", 0.05)
    tenant, invoice = await bd_household(make_tenant, ssl)
    ipn_path, ipn, _, _ = await checkout(tenant, invoice, web, fake)
    for _ in range(3):  # every try of the first attempt (the client's own retries) gets a 500
        fake.script(VALIDATION, "500")
    assert (await web.post(ipn_path, data=ipn)).json() == {"status": "accepted"}
    for _ in range(300):
        if await Payment.filter(tenant_id=tenant.id).exists():
            break
        await asyncio.sleep(0.05)
    assert [p.amount for p in await Payment.filter(tenant_id=tenant.id)] == [50000]


# ---------------------------------------------------------------- held for staff


async def test_risk_level_one_holds_the_payment_until_staff_accept_it(make_tenant, fake, ssl, web):
    tenant, invoice = await bd_household(make_tenant, ssl)
    ipn_path, ipn, back_path, back = await checkout(tenant, invoice, web, fake, risk_level="1")
    await web.post(ipn_path, data=ipn)
    assert "staff will check" in (await web.post(back_path, data=back)).text
    assert await Payment.filter(tenant_id=tenant.id).count() == 0
    (review,) = (await tenant.api.ok(REVIEWS))["gatewayReviews"]
    assert (review["kind"], review["amount"], review["detail"]) == ("RISK_HOLD", "50000", "SSLCommerz risk level 1: check before accepting")
    accepted = (await tenant.api.ok(RESOLVE, id=review["id"], r="ACCEPTED"))["gatewayReviewResolve"]
    assert accepted == {"review": {"resolution": "ACCEPTED"}, "errors": []}
    await invoice.refresh_from_db()
    assert invoice.status is InvoiceStatus.PAID and (await Payment.get(tenant_id=tenant.id)).provider_payment_id == ipn["tran_id"]


async def test_late_and_wrong_amounts_are_held_never_recorded(make_tenant, fake, ssl, web):
    tenant, invoice = await bd_household(make_tenant, ssl)
    ipn_path, ipn, _, _ = await checkout(tenant, invoice, web, fake)
    # 100 taka in cash while the household was on SSLCommerz's page: 400 due, 500 paid
    await tenant.api.ok("mutation($i: ID!) { paymentRecord(input: {invoiceId: $i, amount: 10000, method: CASH}) { errors { code } } }",
                        i=to_global_id("Invoice", invoice.id))
    await web.post(ipn_path, data=ipn)
    # a second attempt paid after the rest was paid in cash: an overpayment
    second_ipn_path, second, _, _ = await checkout(tenant, invoice, web, fake)
    await tenant.api.ok("mutation($i: ID!) { paymentRecord(input: {invoiceId: $i, amount: 40000, method: CASH}) { errors { code } } }",
                        i=to_global_id("Invoice", invoice.id))
    await web.post(second_ipn_path, data=second)
    kinds = sorted((r["kind"], r["amount"], r["expectedAmount"]) for r in (await tenant.api.ok(REVIEWS))["gatewayReviews"])
    assert kinds == [("AMOUNT_MISMATCH", "50000", "40000"), ("OVERPAYMENT", "40000", "0")]
    assert [p.method.value for p in await Payment.filter(invoice_id=invoice.id)] == ["cash", "cash"]
    await invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, 50000)
    assert await GatewayReview.filter(tenant_id=tenant.id, resolved_at__isnull=True).count() == 2
    other = await make_tenant(region=Region.BD)  # another tenant neither sees nor settles them
    assert (await other.api.ok(REVIEWS))["gatewayReviews"] == []
    review_id = (await tenant.api.ok(REVIEWS))["gatewayReviews"][0]["id"]
    foreign = (await other.api.ok(RESOLVE, id=review_id, r="DISMISSED"))["gatewayReviewResolve"]
    assert foreign["review"] is None and foreign["errors"][0]["code"] == "NOT_FOUND"
    dismissed = (await tenant.api.ok(RESOLVE, id=review_id, r="DISMISSED"))["gatewayReviewResolve"]
    assert dismissed == {"review": {"resolution": "DISMISSED"}, "errors": []}
    assert len((await tenant.api.ok(REVIEWS))["gatewayReviews"]) == 1


# ---------------------------------------------------------------- refunds


async def test_refunds_go_back_through_sslcommerz_and_processing_ones_are_followed(make_tenant, fake, ssl, web):
    tenant, invoice = await bd_household(make_tenant, ssl)
    ipn_path, ipn, _, _ = await checkout(tenant, invoice, web, fake)
    await web.post(ipn_path, data=ipn)
    payment = await Payment.get(tenant_id=tenant.id)
    pid = to_global_id("Payment", payment.id)
    assert (await tenant.api.ok(REFUND, p=pid, a=10000))["paymentRefund"] == {"refund": {"amount": "10000", "status": "PROCESSED"},
                                                                              "errors": []}
    fake.refunds_processing = True
    assert (await tenant.api.ok(REFUND, p=pid, a=20000))["paymentRefund"]["refund"]["status"] == "PENDING"
    made = fake.transactions[ipn["tran_id"]].refunds
    ours = await Refund.filter(payment_id=payment.id).order_by("created_at")
    assert [r["refund_ref_id"] for r in made] == [r.provider_refund_id for r in ours]
    assert [r["refe_id"] for r in made] == [r.id.hex for r in ours] and [r["amount"] for r in made] == ["100.00", "200.00"]

    assert await webhooks.poll_refunds() == []  # still processing at SSLCommerz
    fake.finish_refunds()
    assert await webhooks.poll_refunds() == [f"{made[1]['refund_ref_id']}: refund processed"]
    assert (await Refund.get(id=ours[1].id)).status is RefundStatus.PROCESSED
    await invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.REFUNDED, 20000)  # refunded: never dunned again

    assert (await tenant.api.ok(REFUND, p=pid, a=10000))["paymentRefund"]["refund"]["status"] == "PENDING"
    fake.finish_refunds("cancelled")  # SSLCommerz gave up: the money stays with the tenant
    await webhooks.poll_refunds()
    await invoice.refresh_from_db()
    assert invoice.amount_paid == 20000 and (await Refund.filter(payment_id=payment.id, status=RefundStatus.FAILED).count()) == 1


# ---------------------------------------------------------------- credentials and currency


async def test_wrong_store_credentials_and_other_currencies_are_refused(make_tenant, fake, ssl, web):
    tenant = await make_tenant(region=Region.BD)
    await ssl(tenant.id, store_passwd="wrong@ssl")
    c = await customer(tenant.scope)
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": "x", "unit_amount": 30000}]})
    refused = (await tenant.api.ok(LINK, i=to_global_id("Invoice", invoice.id)))["paymentLinkCreate"]
    assert refused["errors"] == [{"code": "GATEWAY_ERROR", "message": "SSLCommerz: APIConnect INVALID_REQUEST"}]
    await ssl(tenant.id)
    link = (await tenant.api.ok(LINK, i=to_global_id("Invoice", invoice.id)))["paymentLinkCreate"]["paymentLink"]
    await ssl(tenant.id, store_passwd="changed-since@ssl")  # the password changed after the link went out
    opened = await web.get(local(link["shortUrl"]))
    assert opened.status_code == 502 and "cannot start" in opened.text

    india = await make_tenant(region=Region.IN)
    await ssl(india.id)
    c = await customer(india.scope)
    inr = await invoices.create_invoice(india.scope, {"customer_id": c.id, "lines": [{"description": "x", "unit_amount": 30000}]})
    refused = (await india.api.ok(LINK, i=to_global_id("Invoice", inr.id)))["paymentLinkCreate"]
    assert refused["errors"] == [{"code": "GATEWAY_ERROR", "message": "SSLCommerz takes BDT only here, not INR"}]
    assert await PaymentLink.filter(tenant_id=india.id).count() == 0
