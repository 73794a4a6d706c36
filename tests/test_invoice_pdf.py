"""The printable invoice: an Indian invoice in Hindi and a Bangladeshi one in Bengali, rendered
with the fonts shipped in the package and read back with pypdf, the words and figures found
as a reader sees them (₹1,77,000.00; Bengali digits), the UPI QR scannable from the page."""

from __future__ import annotations

import base64
import io

import zxingcpp
from pypdf import PdfReader

from seva_crm.core.billing import invoices, pdf
from seva_crm.core.billing.settings import update_billing_settings
from seva_crm.core.billing.tax_invoice import set_customer_tax
from seva_crm.core.common.enums import Region
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.identity.profile import update_profile
from seva_crm.core.models import PaymentLink
from tests.billing_helpers import customer

PDF = "query($id: ID!, $l: Language) { invoice(id: $id) { number pdfBase64(language: $l) } }"


def read(pdf_base64: str) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(base64.b64decode(pdf_base64)))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def embedded_fonts(reader: PdfReader) -> list[str]:
    """Every font program in the file (not only those the pages name), by name."""
    found = []
    for number in range(1, int(reader.trailer["/Size"])):
        try:
            obj = reader.get_object(number)
        except Exception:  # noqa: BLE001 - a free object number
            continue
        if hasattr(obj, "get") and obj.get("/Type") == "/Font" and obj.get("/Subtype") == "/Type0":
            found.append(str(obj["/BaseFont"]).split("+")[-1])
    return sorted(found)


def fonts_of(reader: PdfReader) -> set[str]:
    found = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            found.add(str(font["/BaseFont"]).split("+")[-1])
            assert "/FontFile2" in font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()  # embedded
    return found


async def test_an_indian_invoice_in_hindi(tenant):
    await update_profile(tenant.scope, {"legal_name": "Seva Kendra", "address_line1": "12 MG Road", "city": "Pune",
                                        "gstin": "27AAPFU0939F1ZV"})
    await update_billing_settings(tenant.id, {"upi_vpa": "sevakendra@okaxis"})
    c = await customer(tenant.scope, name="आशा देवी", language="hi")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [
        {"description": "Annual plan", "unit_amount": 15000000, "tax_rate_bp": 1800, "hsn_sac": "998422"}]})
    body = (await tenant.api.ok(PDF, id=to_global_id("Invoice", invoice.id), l=None))["invoice"]  # the customer's language
    reader, text = read(body["pdfBase64"])
    for expected in ("कर बीजक", "बीजक संख्या", body["number"], "आशा देवी", "27AAPFU0939F1ZV", "998422", "CGST", "SGST",
                     "₹1,77,000.00", "₹13,500.00", "One Lakh Seventy-Seven Thousand Rupees Only", "UPI से भुगतान करें",
                     "लाख", "हज़ार", "रुपये", "मात्र"):  # the amount in words in Hindi too
        assert expected in text, expected
    assert "मार्च" in text  # the date's month in Hindi, not 2026-03-11
    assert "2026-03" not in text
    assert any(name.startswith("NotoSansDevanagari") for name in fonts_of(reader))
    # only the fonts it uses are in the file (Devanagari has Latin, digits and ₹), each cut down to its glyphs
    assert embedded_fonts(reader) == ["NotoSansDevanagari", "NotoSansDevanagariBold"]
    assert len(base64.b64decode(body["pdfBase64"])) < 60_000  # the two fonts alone are 440 kB whole
    [qr] = [img for page in reader.pages for img in page.images]
    [code] = zxingcpp.read_barcodes(qr.image)
    assert code.text.startswith("upi://pay?pa=sevakendra%40okaxis") and "am=177000.00" in code.text


async def test_a_bangladeshi_invoice_in_bengali(make_tenant):
    t = await make_tenant(region=Region.BD, name="Dhaka Net")
    await update_profile(t.scope, {"legal_name": "Dhaka Net Ltd", "city": "Dhaka", "bin": "0001234560101"})
    c = await customer(t.scope, name="করিম স্টোর", phone="01712345678", address="মিরপুর ১০, ঢাকা", language="bn")
    await set_customer_tax(t.scope, c.id, "004567891", "")
    invoice = await invoices.create_invoice(t.scope, {"customer_id": c.id, "lines": [
        {"description": "ইন্টারনেট ২০ এমবিপিএস", "unit_amount": 150000, "quantity": 2, "tax_rate_bp": 1500}]})
    body = (await t.api.ok(PDF, id=to_global_id("Invoice", invoice.id), l="BN"))["invoice"]
    reader, text = read(body["pdfBase64"])
    # (text extraction splits some shaped clusters, e.g. a vowel sign written before its consonant;
    # these words and figures come back whole)
    for expected in ("সক-৬.৩", "চালানপত্র", "ঢাকা", "BIN: 0001234560101", "BIN: 004567891", body["number"],
                     "৳৩,০০০.০০", "৳৪৫০.০০", "৳৩,৪৫০.০০", "১৫%", "মার্চ"):
        assert expected in text, expected
    assert "Three Thousand Four Hundred Fifty Taka Only" in text
    assert "হাজার" in text and "টাকা" in text  # and in Bengali words
    assert any(name.startswith("NotoSansBengali") for name in fonts_of(reader))
    # the tenant's gateway made a payment link for it (as paymentLinkCreate stores it): the PDF offers it
    await PaymentLink.create(tenant_id=t.id, invoice_id=invoice.id, provider="bkash", provider_id="TR0011abc",
                             reference_id=invoice.number, status="created", short_url="https://pay.example/i/abc123",
                             amount=invoice.total, currency=invoice.currency)
    english = read((await t.api.ok(PDF, id=to_global_id("Invoice", invoice.id), l="EN"))["invoice"]["pdfBase64"])[1]
    assert "Tax Invoice (Mushak-6.3)" in english and "৳3,450.00" in english and "Time of issue" in english
    assert "Pay online: https://pay.example/i/abc123" in english
    # the Bengali address comes from the Bengali font on an English page, and the line after it
    # is still in the page's own font (fpdf2 alone lost it after such a line)
    assert "ঢাকা" in english and "BIN: 004567891" in english, english
    assert "NotoSansBengali" in embedded_fonts(PdfReader(io.BytesIO(base64.b64decode(
        (await t.api.ok(PDF, id=to_global_id("Invoice", invoice.id), l="EN"))["invoice"]["pdfBase64"]))))


def test_the_fonts_character_maps_are_read_once_per_process():
    fonts = pdf.Fonts()
    path, chars = fonts.get("NotoSansBengali", "B")
    assert path == pdf.FONTS / "NotoSansBengali-Bold.ttf" and {ord("ক"), ord("৳"), ord("₹"), ord("A")} <= chars
    again = fonts.get("NotoSansBengali", "B")
    assert again[1] is chars  # the second document reuses it
