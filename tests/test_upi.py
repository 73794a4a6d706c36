"""Pay by UPI: the upi://pay link and its QR code on an Indian invoice (decoded from the image, as
a phone's camera would), in reminders, and reconciled by the invoice number as reference."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import zxingcpp
from PIL import Image

from seva_crm.core.billing import invoices, notify, payments
from seva_crm.core.billing.clock import tenant_today
from seva_crm.core.billing.settings import update_billing_settings
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.identity.profile import update_profile
from seva_crm.core.models import Invoice
from tests.billing_helpers import customer

QUERY = "query($id: ID!) { invoice(id: $id) { number upi { uri vpa payeeName reference qrPngBase64 } } }"


def decode_qr(png_base64: str) -> str:
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(png_base64))))
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    return found.text


async def test_an_indian_invoice_carries_a_scannable_upi_qr_for_what_is_due(tenant):
    await update_billing_settings(tenant.id, {"upi_vpa": "sevakendra@okaxis"})
    await update_profile(tenant.scope, {"legal_name": "Seva Kendra & Sons"})
    c = await customer(tenant.scope)
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [
        {"description": "Annual plan", "unit_amount": 15000000, "tax_rate_bp": 1800}]})
    await payments.record_payment(tenant.scope, invoice.id, {"amount": 7000000, "method": "cash"})
    body = (await tenant.api.ok(QUERY, id=to_global_id("Invoice", invoice.id)))["invoice"]
    upi = body["upi"]
    scanned = decode_qr(upi["qrPngBase64"])
    assert scanned == upi["uri"]
    parts = urlsplit(scanned)
    assert (parts.scheme, parts.netloc) == ("upi", "pay")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {"pa": "sevakendra@okaxis", "pn": "Seva Kendra & Sons", "am": "107000.00", "cu": "INR",
                     "tn": f"Invoice {body['number']}", "tr": body["number"]}
    assert "%26" in scanned and "%20" in scanned  # values are percent-encoded

    # staff reconcile the UPI payment by its reference: the invoice is paid and the request goes
    await payments.record_payment(tenant.scope, invoice.id, {"amount": 10700000, "method": "upi", "reference": upi["reference"]})
    assert (await tenant.api.ok(QUERY, id=to_global_id("Invoice", invoice.id)))["invoice"]["upi"] is None


async def test_reminders_carry_the_upi_link_in_the_customers_language(tenant):
    await update_billing_settings(tenant.id, {"upi_vpa": "sevakendra@okaxis"})
    today = await tenant_today(tenant.id)
    c = await customer(tenant.scope, language="hi")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "due_on": today + timedelta(days=1),
                                                          "lines": [{"description": "Plan", "unit_amount": 49900}]})
    text = await notify.payment_text(await Invoice.get(id=invoice.id), "hi")
    assert text.startswith("UPI से भुगतान करें: upi://pay?pa=sevakendra%40okaxis") and "am=499.00" in text


async def test_no_upi_without_a_upi_id(tenant):
    c = await customer(tenant.scope)
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [{"description": "x", "unit_amount": 100}]})
    assert (await tenant.api.ok(QUERY, id=to_global_id("Invoice", invoice.id)))["invoice"]["upi"] is None
