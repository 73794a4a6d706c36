"""A printable PDF of an invoice: the tax invoice's fields (``core.billing.tax_invoice``) in
English, Hindi or Bengali, with money and dates through ``core.common.localise``, the UPI QR code
(India) or the invoice's open payment link at the tenant's gateway, and the tenant's logo.

The amount in words is in the reader's language (``core.billing.words``: Indian numbering, lakh
and crore), followed in Hindi and Bengali by the English words, as many Indian and Bangladeshi
invoices print it.

Fonts are embedded from ``core/billing/fonts`` (Noto Sans, Noto Sans Devanagari, Noto Sans
Bengali, OFL 1.1; ``fonts/refresh.sh`` fetches them at pinned versions): nothing is loaded from
elsewhere at run time. Devanagari and Bengali need shaping (conjuncts, vowel signs placed
before their consonant), so text goes through HarfBuzz (fpdf2's ``set_text_shaping``).

What a render costs is mostly the fonts: fpdf2 parses each font it is given and subsets each one
into the document, even one the document never uses. So:

- a document gets only the fonts it uses: its language's family (regular and bold) up front,
  another one only when a character needs it (``get_fallback_font``, fpdf2's hook for choosing
  a fallback: a Bengali name on a Hindi invoice brings Noto Sans Bengali, in the weight it is
  written in); the fonts' character maps, which that choice needs, are read once per process
  (``Fonts``);
- fontTools' copy of each font loses its shaping tables once loaded (``_without_layout_tables``:
  HarfBuzz reads them from the file, and the embedded font drops them anyway), which saves most
  of the subsetting time;
- fpdf2 still subsets every font it embeds to the glyphs the document uses, so the PDF stays
  small (about 21 KiB).

Cutting Noto Sans down to Latin (a tenth of its size) would save about a quarter of an English
render more, but takes fontTools 4 to 5 seconds per weight, once per process: not done at run
time (it could be shipped cut down by ``fonts/refresh.sh``).

bench/invoice_send.py measures it (bench/README.md)."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from seva_crm.core.billing import words
from seva_crm.core.billing.invoices import amount_due
from seva_crm.core.billing.tax_invoice import TaxInvoice, tax_invoice
from seva_crm.core.billing.upi import UpiRequest, qr_png, upi_request
from seva_crm.core.common import localise
from seva_crm.core.common.enums import Region
from seva_crm.core.models import Customer, Invoice, PaymentLink, TenantProfile

FONTS = Path(__file__).parent / "fonts"
FAMILIES = {"en": "NotoSans", "hi": "NotoSansDevanagari", "bn": "NotoSansBengali"}
STYLES = {"": "Regular", "B": "Bold"}
FALLBACKS = ("NotoSansDevanagari", "NotoSansBengali", "NotoSans")  # tried in this order; Noto Sans has the most


class Fonts:
    """The fonts' character maps, read once per process (fpdf2 opens the file itself for each
    document: it subsets its own copy of the font into it). Thread-safe (renders run in worker
    threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chars: dict[Path, frozenset[int]] = {}

    def get(self, family: str, style: str = "") -> tuple[Path, frozenset[int]]:
        """The file of ``family`` in ``style`` ("" or "B") and the characters it has."""
        path = FONTS / f"{family}-{STYLES[style]}.ttf"
        with self._lock:
            if path not in self._chars:
                self._chars[path] = frozenset(TTFont(path, lazy=True).getBestCmap())
            return path, self._chars[path]


FONT_CACHE = Fonts()

LABELS: dict[str, dict[str, str]] = {
    "en": {"title_in": "Tax Invoice", "title_bd": "Tax Invoice (Mushak-6.3)", "number": "Invoice No.", "date": "Date",
           "time": "Time of issue", "due": "Due date", "supplier": "Supplier", "recipient": "Billed to", "state": "State",
           "supply": "Place of supply", "item": "Description", "qty": "Qty", "price": "Unit price", "rate": "Rate",
           "taxable": "Taxable value", "value": "Value excl. VAT", "vat": "VAT", "sd": "SD", "total": "Total",
           "words": "Amount in words", "paid": "Paid", "amount_due": "Amount due", "upi": "Pay by UPI", "online": "Pay online",
           "signatory": "Authorised signatory", "generated": "Computer-generated invoice"},
    "hi": {"title_in": "कर बीजक", "title_bd": "कर बीजक (मूसक-6.3)", "number": "बीजक संख्या", "date": "दिनांक",
           "time": "जारी करने का समय", "due": "देय तिथि", "supplier": "आपूर्तिकर्ता", "recipient": "प्राप्तकर्ता",
           "state": "राज्य", "supply": "आपूर्ति का स्थान", "item": "विवरण", "qty": "मात्रा", "price": "दर", "rate": "कर दर",
           "taxable": "कर योग्य मूल्य", "value": "कर रहित मूल्य", "vat": "वैट", "sd": "पूरक शुल्क", "total": "कुल",
           "words": "राशि शब्दों में", "paid": "भुगतान किया", "amount_due": "देय राशि", "upi": "UPI से भुगतान करें",
           "online": "ऑनलाइन भुगतान करें", "signatory": "अधिकृत हस्ताक्षरकर्ता", "generated": "कंप्यूटर द्वारा बनाया गया बीजक"},
    "bn": {"title_in": "কর চালান", "title_bd": "কর চালানপত্র (মূসক-৬.৩)", "number": "চালানপত্র নম্বর", "date": "তারিখ",
           "time": "ইস্যুর সময়", "due": "পরিশোধের শেষ তারিখ", "supplier": "বিক্রেতা", "recipient": "ক্রেতা",
           "state": "রাজ্য", "supply": "সরবরাহের স্থান", "item": "বিবরণ", "qty": "পরিমাণ", "price": "একক মূল্য",
           "rate": "হার", "taxable": "করযোগ্য মূল্য", "value": "মূসক ব্যতীত মূল্য", "vat": "মূসক", "sd": "সম্পূরক শুল্ক",
           "total": "সর্বমোট", "words": "কথায়", "paid": "পরিশোধিত", "amount_due": "বকেয়া",
           "upi": "UPI দিয়ে পরিশোধ করুন", "online": "অনলাইনে পরিশোধ করুন", "signatory": "অনুমোদিত স্বাক্ষরকারী",
           "generated": "কম্পিউটারে তৈরি চালানপত্র"},
}


def _language(value: str | None) -> str:
    lang = (value or "en").split("-")[0].lower()
    return lang if lang in LABELS else "en"


LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF")


def _without_layout_tables(font: object) -> None:
    """Forget the shaping tables in fpdf2's fontTools copy of a font it just loaded. The one
    place this module reaches past fpdf2's public API, for most of a render's time: fpdf2 shapes
    with HarfBuzz, which reads the font file itself (tables intact), and drops these tables from
    the font it embeds, but fontTools' subsetter (4.x) decompiles all of them first, to check their
    offsets, at every render. Without them the embedded font is the same. If a later fpdf2 keeps
    its fonts otherwise, nothing is removed and renders are only slower."""
    tables = getattr(font, "ttfont", None)
    for tag in LAYOUT_TABLES:
        if tables is not None and tag in tables:
            del tables[tag]


class _Pdf(FPDF):
    def __init__(self, language: str) -> None:
        super().__init__(format="A4")
        self.family = FAMILIES[language]
        self.use_font(self.family, "")
        self.use_font(self.family, "B")
        self.fallbacks: list[str] = []
        self.set_text_shaping(True)
        self.set_auto_page_break(True, margin=15)
        self.add_page()

    def use_font(self, family: str, style: str) -> str:
        """Add ``family`` in ``style`` to the document (once); its font key."""
        key = f"{family.lower()}{style}"
        if key not in self.fonts:
            self.add_font(family, style, str(FONT_CACHE.get(family, style)[0]))
            _without_layout_tables(self.fonts[key])
        return key

    def set_font(self, family: str | None = None, style: str = "", size: float = 0) -> None:
        """``FPDF.set_font``, and the font written to the page at once (an empty ``text``). fpdf2
        (2.8.9) otherwise writes it with the first line that follows, inside that line's local
        graphics state when the line starts in a fallback font (a Bengali address on an English
        invoice), so the page's font is lost at its end and the next line in the same font is
        written in the one before: unreadable."""
        super().set_font(family, style, size)
        if self.page:
            self.text(self.x, self.y, "")

    def get_fallback_font(self, char: str, style: str = "") -> str | None:
        """fpdf2's hook for a character the current font lacks: a name or an address may be in any
        of the three scripts, and ₹/৳ in any text. The first family that has it, in the weight
        asked for, added now."""
        style = "B" if "B" in style else ""
        for family in FALLBACKS:
            if family != self.family and ord(char) in FONT_CACHE.get(family, style)[1]:
                key = self.use_font(family, style)
                if family not in self.fallbacks:
                    self.fallbacks.append(family)
                    self.set_fallback_fonts(self.fallbacks, exact_match=False)
                return key
        return None

    def text_line(self, text: str, size: float = 9, bold: bool = False, align: str = "L") -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.multi_cell(0, size * 0.55, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(t: TaxInvoice, invoice: Invoice, language: str, upi: UpiRequest | None, logo: bytes | None,
               pay_link: str = "") -> bytes:
    lang = _language(language)
    L = LABELS[lang]
    india = t.region is Region.IN
    cur = t.currency

    def money(amount: int) -> str:
        return localise.money(amount, cur, lang)

    def num(value: int) -> str:
        return localise.number(value, lang, cur)

    def rate(bp: int) -> str:
        whole, frac = divmod(bp, 100)
        return num(whole) + (f".{frac:02d}".rstrip("0").translate(_digits(lang)) if frac else "") + "%"

    pdf = _Pdf(lang)
    if logo:
        pdf.image(io.BytesIO(logo), x=pdf.w - pdf.r_margin - 30, y=10, h=18)
    pdf.text_line(L["title_in"] if india else L["title_bd"], 16, bold=True)
    pdf.ln(2)
    pdf.text_line(f"{L['supplier']}: {t.supplier.name}", 10, bold=True)
    for line in t.supplier.address:
        pdf.text_line(line)
    if t.supplier.tax_id:
        pdf.text_line(f"{'GSTIN' if india else 'BIN'}: {t.supplier.tax_id}")
    if india and t.supplier.state_code:
        pdf.text_line(f"{L['state']}: {t.supplier.state} ({t.supplier.state_code})")
    pdf.ln(2)
    pdf.text_line(f"{L['number']}: {t.number}", 10, bold=True)
    pdf.text_line(f"{L['date']}: {localise.day(t.issued_on, lang, cur)}")
    if not india:
        pdf.text_line(f"{L['time']}: {localise.moment(t.issued_at, t.timezone, lang, cur)}")
    pdf.text_line(f"{L['due']}: {localise.day(invoice.due_on, lang, cur)}")
    if india and t.place_of_supply:
        pdf.text_line(f"{L['supply']}: {t.place_of_supply}")
    pdf.ln(2)
    pdf.text_line(f"{L['recipient']}: {t.recipient.name}", 10, bold=True)
    for line in t.recipient.address:
        pdf.text_line(line)
    if t.recipient.tax_id:
        pdf.text_line(f"{'GSTIN' if india else 'BIN'}: {t.recipient.tax_id}")
    if india and t.recipient.state_code:
        pdf.text_line(f"{L['state']}: {t.recipient.state} ({t.recipient.state_code})")
    pdf.ln(3)

    if india:
        taxes = ["IGST"] if t.inter_state else ["CGST", "SGST"]
        head = [L["item"], "HSN/SAC", L["qty"], L["price"], L["rate"], L["taxable"], *taxes, L["total"]]
        widths = (44, 18, 12, 22, 14, 24, *((26,) if t.inter_state else (18, 18)), 26)
    else:
        head = [L["item"], L["qty"], L["price"], L["value"], L["sd"], L["rate"], L["vat"], L["total"]]
        widths = (46, 12, 22, 24, 16, 14, 22, 26)
    pdf.set_font(pdf.family, "", 8)
    with pdf.table(col_widths=widths, text_align=("LEFT", *(["RIGHT"] * (len(head) - 1))), line_height=4.5,
                   first_row_as_headings=True) as table:
        table.row(head)
        for x in t.lines:
            if india:
                parts = [money(x.igst)] if t.inter_state else [money(x.cgst), money(x.sgst)]
                table.row([x.description, x.hsn_sac, num(x.quantity), money(x.unit_amount), rate(x.rate_bp), money(x.taxable),
                           *parts, money(x.total)])
            else:
                table.row([x.description, num(x.quantity), money(x.unit_amount), money(x.taxable), money(x.supplementary_duty),
                           rate(x.rate_bp), money(x.vat), money(x.total)])
    pdf.ln(2)
    sums = ([(L["taxable"], t.taxable)] + ([("IGST", t.igst)] if t.inter_state else [("CGST", t.cgst), ("SGST", t.sgst)])
            if india else [(L["value"], t.taxable), (L["sd"], t.supplementary_duty), (L["vat"], t.vat)])
    for label, value in [*sums, (L["total"], t.total), (L["paid"], invoice.amount_paid), (L["amount_due"], amount_due(invoice))]:
        pdf.text_line(f"{label}: {money(value)}", 10, bold=label in (L["total"], L["amount_due"]), align="R")
    pdf.text_line(f"{L['words']}: {words.money_in_words(t.total, cur, lang)}", 9)
    if lang != "en":
        pdf.text_line(f"({localise.money_in_words(t.total, cur)})", 9)

    if upi is not None:
        pdf.ln(3)
        pdf.text_line(f"{L['upi']}: {upi.vpa} · {money(upi.amount)} · {upi.reference}", 9, bold=True)
        pdf.image(io.BytesIO(qr_png(upi.uri, scale=8)), w=38)
    elif pay_link and amount_due(invoice) > 0:
        pdf.ln(3)
        pdf.text_line(f"{L['online']}: {pay_link}", 9, bold=True)
    pdf.ln(6)
    pdf.text_line(f"{L['signatory']}, {t.supplier.name}", 9, align="R")
    pdf.text_line(L["generated"], 7, align="R")
    return bytes(pdf.output())


def _digits(lang: str) -> dict[int, int]:
    return str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯") if lang == "bn" else {}


async def invoice_pdf(invoice: Invoice, language: str | None = None) -> bytes:
    """The invoice's PDF in ``language`` (default: its customer's)."""
    if language is None:
        language = (await Customer.get(id=invoice.customer_id).only("id", "language")).language.value
    profile = await TenantProfile.get_or_none(tenant_id=invoice.tenant_id).only("id", "logo")
    link = await PaymentLink.filter(tenant_id=invoice.tenant_id, invoice_id=invoice.id).exclude(
        status__in=("paid", "cancelled", "expired")).order_by("-created_at").first()
    # rendering takes a CPU for a fraction of a second (shaping, font subsetting; the first one in a
    # process prepares the fonts too): off the event loop, so the requests and jobs sharing it are
    # not held up meanwhile
    return await asyncio.to_thread(render_pdf, await tax_invoice(invoice), invoice, language, await upi_request(invoice),
                                   profile.logo if profile else None, link.short_url if link else "")
