"""End to end: a walk-in customer with service records, consents and messages asks for erasure,
proves who they are with a code, and the request completes with retention. Afterwards their
name, phone and email are in no query, export, log line, or row of any table; the audit chain
verifies; the request says what was kept and under which law.

The customer also has a subscription and paid invoices (one paid in cash with a UPI reference, one
through Razorpay, whose webhook payload carries their contact, email and VPA): the invoices stay
for GST with the customer anonymised, and the gateway payload is masked."""

import io
import logging
import secrets
import zipfile

from tortoise import Tortoise

from seva_crm.core.customers.identifiers import verhoeff_ok
from seva_crm.core.platform import audit
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.models import Consent, Customer, CustomerIdentifier, CustomerTag, Message, PrivacyRequest, ServiceRecord
from seva_crm.core.common.settings import get_settings
from tests.conftest import Api
from tests.test_consent import grant, publish
from tests.test_customers import UPDATE, create
from tests.jobs_support import inprocess_jobs  # noqa: F401 - a fixture
from tests.test_privacy_requests import VERIFY, approve, approve_for_link, file, file_with_code, link_path, privacy_jobs  # noqa: F401
from seva_crm.core.billing import invoices as billing_invoices, payments as billing_payments
from seva_crm.core.billing.payments import GatewayPayment
from seva_crm.core.models import GatewayEvent, Invoice, Payment, PluginSettings
from seva_crm.core.common.security import utcnow
from tests.billing_helpers import subscription
from tests.test_invoice_pdf import read as read_pdf
from tests.test_service_records import UPDATE as SR_UPDATE, add
from seva_crm.plugins.whatsapp.contacts import is_unreachable, mark_unreachable

SET_IDENTIFIER = """mutation($c: ID!, $k: String!, $v: String!) {
  customerIdentifierSet(customerId: $c, kind: $k, value: $v) { errors { code } } }"""
RESTORE = "mutation($id: ID!) { customerRestore(id: $id) { errors { field code message } } }"
# A phone no other test uses: the scan below reads every row of the shared test database.
NAME, PHONE, EMAIL = "Parvati Sundaram", f"98{secrets.randbelow(10**8):08d}", "parvati.sundaram@example.net"
AADHAAR = next(f"3{PHONE[:10]}{d}" for d in "0123456789" if verhoeff_ok(f"3{PHONE[:10]}{d}"))
NEEDLES = (NAME, "Parvati", "Sundaram", PHONE, "+91" + PHONE, EMAIL, "parvati.sundaram", AADHAAR)


def pdf_text(pdf_base64: str) -> str:
    return read_pdf(pdf_base64)[1]


async def scan_all_tables() -> list[str]:
    """Every text value of every row of every model (core's and the plugins'), searched for the
    subject's details."""
    found = []
    for model in (m for app in Tortoise.apps.values() for m in app.values()):
        for row in await model.all().values():
            text = " ".join(str(v) for v in row.values()).lower()
            for needle in NEEDLES:
                if needle.lower() in text:
                    found.append(f"{model._meta.db_table}: {needle}")
    return found


async def test_erasure_end_to_end(tenant, app, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="seva")
    api = tenant.api
    await publish(api)
    customer = (await create(api, name=NAME, phone=PHONE, email=EMAIL, address="12 Temple Street, Madurai",
                             dateOfBirth="1980-04-02", tags=["walk-in", "pan"], notes=f"{NAME} prefers mornings"))["customer"]
    cid = from_global_id(customer["id"], "Customer")
    await api.ok(SET_IDENTIFIER, c=customer["id"], k="aadhaar", v=AADHAAR)
    paid = (await add(api, customer["id"], f"PAN card application for {NAME}, Aadhaar {AADHAAR}", feeAmount=10700,
                      referenceNumber="PAN/2026/77"))["serviceRecord"]
    await add(api, customer["id"], "Enquiry about ration card")  # no fee: nothing keeps it
    await grant(api, customer["id"], "marketing", channel="SMS")
    await grant(api, customer["id"], "service")
    await Message.create(tenant_id=tenant.id, customer_id=cid, purpose="service", template="document_ready",
                         body=f"Dear {NAME}, your PAN card is ready.", variables={"name": NAME, "phone": "+91" + PHONE},
                         channel="whatsapp", channels_tried=["whatsapp"], status="delivered", idempotency_key="m-erasure-1",
                         last_error=f"earlier: +91{PHONE} not on whatsapp")
    # billing: a subscription whose first invoice is paid in cash, and an invoice paid through Razorpay
    sub = await subscription(tenant.scope, customer=await Customer.get(id=cid))
    first = await Invoice.get(subscription_id=sub.id)
    await billing_payments.record_payment(tenant.scope, first.id, {"amount": first.total, "method": "upi",
                                                                   "reference": f"UPI {PHONE}"})
    second = await billing_invoices.create_invoice(tenant.scope, {"customer_id": cid, "notes": f"for {NAME}",
                                                                 "lines": [{"description": f"Aadhaar update for {NAME}, {PHONE}",
                                                                             "unit_amount": 5000}]})
    pay_id = f"pay_{secrets.token_hex(7)}"
    await billing_payments.record_gateway_payment(tenant.id, second.id,
                                                  GatewayPayment("razorpay", pay_id, second.total, True, utcnow(), "upi"))
    await GatewayEvent.create(tenant_id=tenant.id, provider="razorpay", event_id=f"evt_{secrets.token_hex(7)}", name="payment.captured",
                              processed_at=utcnow(), payload={"event": "payment.captured", "payload": {"payment": {"entity": {
                                  "id": pay_id, "amount": second.total, "currency": "INR", "status": "captured", "method": "upi",
                                  "email": EMAIL, "contact": "+91" + PHONE, "vpa": "parvati.sundaram@okbank",
                                  "notes": {"seva_invoice": str(second.id), "payer": NAME}}}}})
    await mark_unreachable(tenant.id, cid)  # the whatsapp plugin's own table
    # the centre used WhatsApp, then turned it off: what the plugin stored is still theirs to export and erase
    await PluginSettings.create(tenant_id=tenant.id, plugin_id="whatsapp", enabled=False)
    grievance = (await file(api, customer["id"], "GRIEVANCE", details=f"I am {NAME}, stop calling {PHONE}"))["privacyRequest"]
    access = (await file(api, customer["id"], "ACCESS"))["privacyRequest"]
    await api.ok(VERIFY, id=access["id"], reason="known customer")
    access, link = await approve_for_link(api, access["id"])
    client = Api(app).http
    download = await client.get(link_path(link))
    assert download.status_code == 200  # an earlier export exists, with the billing records
    with zipfile.ZipFile(io.BytesIO(download.content)) as z:
        exported = b" ".join(z.read(n) for n in z.namelist())
    for needle in (AADHAAR, first.number, second.number, pay_id, b"billing_subscription".decode(), "okbank", "not_on_whatsapp_since"):
        assert needle.encode() in exported, needle

    before = await scan_all_tables()  # the scan does find them while they are there
    assert {"customer: Parvati Sundaram", "message: Parvati Sundaram", "privacy_request: Parvati Sundaram"} <= set(before)

    # the erasure request, verified by a code to the subject's phone
    request, code = await file_with_code(api, customer["id"], "ERASURE", details="please delete everything")
    assert code.address == "+91" + PHONE
    await api.ok(VERIFY, id=request["id"], code=code.secret)
    done = await approve(api, request["id"])
    assert done["status"] == "COMPLETED_WITH_RETENTION", done
    kept = {k["table"]: k for k in done["kept"]}
    assert set(kept) == {"service_record", "consent", "message", "privacy_request", "billing_invoice", "billing_invoice_line",
                         "billing_payment", "billing_subscription", "billing_gateway_event"}
    assert kept["billing_invoice"]["count"] == 2 and "CGST Act 2017 s.36" in kept["billing_invoice"]["citation"]
    assert "GST" in kept["billing_invoice"]["basis"] and kept["billing_invoice"]["retainUntil"] > utcnow().date().isoformat()
    assert kept["billing_payment"]["count"] == 2 and kept["billing_gateway_event"]["count"] == 1
    assert kept["service_record"]["count"] == 1 and "CGST Act 2017 s.36" in kept["service_record"]["citation"]
    assert kept["service_record"]["retainUntil"] > utcnow().date().isoformat()
    assert "s.6(10)" in kept["consent"]["citation"] and "Rule 8(3)" in kept["message"]["citation"]
    assert kept["privacy_request"]["count"] == 3

    # the queries staff use show nothing of them
    for term in (NAME, "Parvati", PHONE[-6:], EMAIL):
        found = await api.ok('query($s: String!) { customers(filter: {search: $s}) { totalCount } '
                             'gone: customers(filter: {search: $s, deleted: true}) { totalCount } }', s=term)
        assert found["customers"]["totalCount"] == 0 and found["gone"]["totalCount"] == 0, term
    stub = (await api.ok('query($id: ID!) { customer(id: $id) { name phone email address dateOfBirth notes tags erasedAt } }',
                         id=customer["id"]))["customer"]
    assert stub["name"] == "Erased customer" and stub["phone"] is None and stub["email"] is None
    assert stub["address"] == "" and stub["dateOfBirth"] is None and stub["notes"] == "" and stub["tags"] == [] and stub["erasedAt"]
    record = await ServiceRecord.get(id=from_global_id(paid["id"], "ServiceRecord"))
    assert record.fee_amount == 10700 and record.reference_number == "" and record.customer_id == cid  # kept for GST
    assert record.service_name == "PAN card application for [erased], Aadhaar [erased]"  # what was done, not for whom
    assert not await CustomerIdentifier.filter(customer_id=cid).exists()
    assert await ServiceRecord.filter(customer_id=cid).count() == 1 and await CustomerTag.filter(customer_id=cid).count() == 0
    message = await Message.get(customer_id=cid, idempotency_key="m-erasure-1")
    assert message.body == "" and message.variables == {} and message.status == "delivered"
    # the codes' too; the outcome waits to be sent, sealed with the phone it goes to (tests/test_privacy_erasure_reply.py)
    [reply] = await Message.filter(customer_id=cid, template="privacy_reply_erased")
    assert reply.secret == "reply" and reply.variables == {} and PHONE not in reply.body
    assert all(m.body == "" and m.variables == {} for m in await Message.filter(customer_id=cid).exclude(id=reply.id))
    # the invoices stay, for GST, pointing at the anonymised customer; the payer's details are masked
    kept_invoices = await Invoice.filter(customer_id=cid).order_by("issued_on", "number")
    assert {i.id for i in kept_invoices} == {first.id, second.id} and all(i.status.value == "paid" for i in kept_invoices)
    assert (await Invoice.get(id=second.id)).notes == ""
    for invoice in kept_invoices:  # the invoice as a customer is sent it: the line typed with their name too
        html = (await api.ok("query($id: ID!) { invoice(id: $id) { html pdfBase64 lines { description } } }",
                             id=to_global_id("Invoice", invoice.id)))["invoice"]
        assert invoice.number in html["html"] and "Erased customer" in html["html"]
        pdf = pdf_text(html.pop("pdfBase64"))  # the PDF the customer is sent, read back
        assert invoice.number in pdf and "Erased customer" in pdf
        assert not [n for n in NEEDLES if n.lower() in (str(html) + pdf).lower()]
    assert "Aadhaar update for [erased], [erased]" in html["html"]

    # the stub and its records are locked: the name cannot be typed back in
    for mutation, variables in ((UPDATE, {"id": customer["id"], "input": {"name": NAME}}),
                                (SR_UPDATE, {"id": paid["id"], "input": {"notes": f"for {NAME}"}}),
                                (RESTORE, {"id": customer["id"]})):
        body = await api(mutation, **variables)
        errors = next(iter(body["data"].values()))["errors"]
        assert [e["code"] for e in errors] == ["ERASED"], (mutation, body)
    assert {p.reference.startswith("h:") or p.reference == "upi" for p in await Payment.filter(customer_id=cid)} == {True}
    event = (await GatewayEvent.filter(tenant_id=tenant.id))[0].payload["payload"]["payment"]["entity"]
    assert event["id"] == pay_id and event["notes"]["seva_invoice"] == str(second.id)  # still reconcilable
    assert event["email"].startswith("h:") and event["contact"].startswith("h:") and event["vpa"].startswith("h:")
    assert await Consent.filter(customer_id=cid, granted=False, source="privacy_request").count() == 2  # withdrawn first
    assert (await PrivacyRequest.get(id=from_global_id(grievance["id"], "PrivacyRequest"))).details == ""
    assert not await is_unreachable(tenant.id, cid)  # the plugin erased its row too

    # the earlier export is gone, and nothing on disk or in any table or log still names them
    assert (await client.get(link_path(link))).status_code == 404
    for path in (get_settings().data_dir / "privacy-exports").rglob("*"):
        if path.is_file():
            assert not any(n.encode() in path.read_bytes() for n in NEEDLES), path
    assert await scan_all_tables() == []
    logged = caplog.text.lower()
    assert not [n for n in NEEDLES if n.lower() in logged]

    # erasure again is safe and changes nothing
    again = (await file(api, customer["id"], "ERASURE"))["privacyRequest"]
    await api.ok(VERIFY, id=again["id"], reason="same person, in person")
    rerun = await approve(api, again["id"])
    assert rerun["status"] == "COMPLETED_WITH_RETENTION"
    assert await scan_all_tables() == []
    assert (await Customer.get(id=cid)).name == "Erased customer"

    result = await audit.verify(str(tenant.id))
    assert result.ok, [b.describe() for b in result.breaks]
    erased = [e.action for e in await audit.events_for(tenant.id, "privacy_request", from_global_id(request["id"], "PrivacyRequest"))]
    assert "privacy_request.completed_with_retention" in erased and erased.count("privacy_request.step_done") == 5


def test_a_gateway_payload_is_masked_as_its_gateway_says_or_whole():
    from seva_crm.core.billing.gateways import payload_privacy
    from seva_crm.core.billing.privacy import mask

    payload = {"entity": {"id": "pay_1", "contact": "+919800000001", "notes": {"seva_invoice": "inv-1", "payer": "Asha"},
                          "method": "upi", "amount": 100}}
    razorpay = mask(payload, payload_privacy("razorpay"), ())["entity"]
    assert (razorpay["id"], razorpay["method"], razorpay["notes"]["seva_invoice"]) == ("pay_1", "upi", "inv-1")
    assert razorpay["contact"].startswith("h:") and razorpay["notes"]["payer"].startswith("h:")
    gone = mask(payload, payload_privacy("a-gateway-no-plugin-provides"), ())["entity"]  # no one to ask: all text goes
    assert all(v.startswith("h:") for v in (gone["id"], gone["contact"], gone["method"], gone["notes"]["payer"]))
    assert gone["amount"] == 100
