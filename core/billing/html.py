"""The invoice as a self-contained HTML page a customer can be sent: inline CSS, no scripts,
no external resources, every value escaped. It carries the tax invoice's fields
(``core.billing.tax_invoice``): GSTIN or BIN of both sides, HSN/SAC, CGST + SGST or IGST and the
place of supply (India), VAT (Bangladesh), the total in words. The page is in the reader's
language (default: the customer's; en, hi, bn): money and dates through ``core.common.localise``
(Bengali digits and months, Hindi months), the total in words in that language
(``core.billing.words``) followed, in Hindi and Bengali, by the English words, as the PDF prints
them. (The labels are English.)"""

from __future__ import annotations

from html import escape

from seva_crm.core.billing import words
from seva_crm.core.billing.invoices import amount_due
from seva_crm.core.billing.tax_invoice import TaxInvoice, build
from seva_crm.core.common import localise
from seva_crm.core.common.enums import Region
from seva_crm.core.models import Customer, Invoice, InvoiceLine, Tenant, TenantProfile


def format_money(amount: int, currency: str, language: str | None = "en") -> str:
    """17700000 INR -> '₹1,77,000.00' (``core.common.localise.money``)."""
    return localise.money(amount, currency, language)


def format_rate(rate_bp: int) -> str:
    whole, frac = divmod(rate_bp, 100)
    return f"{whole}%" if not frac else f"{whole}.{frac:02d}".rstrip("0") + "%"


def render_invoice(invoice: Invoice, t: TaxInvoice, language: str | None = None) -> str:
    """The page in ``language`` (default: the customer's, ``t.recipient_language``)."""
    cur = invoice.currency.value
    e = escape
    india = t.region is Region.IN
    lang = words.reader_language(language or t.recipient_language)

    def money(value: int) -> str:
        return e(format_money(value, cur, lang))

    def day(value) -> str:
        return e(localise.day(value, lang, cur))

    def num(value: int) -> str:
        return e(localise.number(value, lang, cur))

    if india:
        head = ("<th>Item</th><th>HSN/SAC</th><th class=n>Qty</th><th class=n>Unit price</th><th class=n>GST rate</th>"
                "<th class=n>Taxable</th>") + (
            "<th class=n>IGST</th>" if t.inter_state else "<th class=n>CGST</th><th class=n>SGST</th>") + "<th class=n>Total</th>"
    else:
        head = ("<th>Item</th><th class=n>Qty</th><th class=n>Unit price</th><th class=n>VAT rate</th><th class=n>Value excl. VAT</th>"
                "<th class=n>SD</th><th class=n>VAT</th><th class=n>Total</th>")
    rows = []
    for line in t.lines:
        half = format_rate(line.rate_bp // 2) if line.rate_bp % 2 == 0 else format_rate(line.rate_bp) + "/2"
        if india:
            taxes = (f"<td class=n>{money(line.igst)} ({e(format_rate(line.rate_bp))})</td>" if t.inter_state else
                     f"<td class=n>{money(line.cgst)} ({e(half)})</td><td class=n>{money(line.sgst)} ({e(half)})</td>")
            rows.append(f"<tr><td>{e(line.description)}</td><td>{e(line.hsn_sac)}</td><td class=n>{num(line.quantity)}</td>"
                        f"<td class=n>{money(line.unit_amount)}</td><td class=n>{e(format_rate(line.rate_bp))}</td>"
                        f"<td class=n>{money(line.taxable)}</td>{taxes}"
                        f"<td class=n>{money(line.total)}</td></tr>")
        else:
            rows.append(f"<tr><td>{e(line.description)}</td><td class=n>{num(line.quantity)}</td>"
                        f"<td class=n>{money(line.unit_amount)}</td>"
                        f"<td class=n>{e(format_rate(line.rate_bp))}</td><td class=n>{money(line.taxable)}</td>"
                        f"<td class=n>{money(line.supplementary_duty)}</td>"
                        f"<td class=n>{money(line.vat)}</td><td class=n>{money(line.total)}</td></tr>")
    width = head.count("<th")  # columns
    if india:
        sums = ([("IGST", t.igst)] if t.inter_state else [("CGST", t.cgst), ("SGST", t.sgst)])
    else:
        sums = [("Supplementary duty", t.supplementary_duty), ("VAT", t.vat)]
    totals = "".join(f"<tr><td colspan={width - 1}>{e(name)}</td><td class=n>{money(value)}</td></tr>" for name, value in sums)
    tax_label = "GSTIN" if india else "BIN"

    def party(p) -> str:
        parts = [f"<strong>{e(p.name)}</strong>", *map(e, p.address)]
        if p.tax_id:
            parts.append(f"{tax_label}: {e(p.tax_id)}")
        if india and p.state_code:
            parts.append(f"State: {e(p.state)} ({e(p.state_code)})")
        return "<br>".join(parts)

    period = ""
    if invoice.period_start and invoice.period_end and invoice.period_end > invoice.period_start:
        period = f"<p>Period: {day(invoice.period_start)} to {day(invoice.period_end)}</p>"
    supply = f"<p>Place of supply: {e(t.place_of_supply)}</p>" if india and t.place_of_supply else ""
    issued = day(invoice.issued_on) if india else e(localise.moment(t.issued_at, t.timezone, lang, cur))
    in_words = f"<tr><td colspan={width}>{e(words.money_in_words(t.total, cur, lang))}</td></tr>"
    if lang != "en":
        in_words += f"<tr><td colspan={width}>({e(localise.money_in_words(t.total, cur))})</td></tr>"
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Invoice {e(invoice.number)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{width:100%;border-collapse:collapse}}td,th{{padding:.4rem;border-bottom:1px solid #ddd;text-align:left}}
.n{{text-align:right}}.total td{{font-weight:bold}}.status{{text-transform:uppercase;letter-spacing:.1em}}</style>
</head><body>
<h1>{e(t.title)}</h1>
<p>{party(t.supplier)}</p>
<h2>Invoice {e(invoice.number)} <span class=status>{e(invoice.status.value)}</span></h2>
<p>Issued {issued} &middot; Due {day(invoice.due_on)}</p>
{period}{supply}<p>Billed to:<br>{party(t.recipient)}</p>
<table><thead><tr>{head}</tr></thead>
<tbody>{"".join(rows)}</tbody><tfoot>
<tr><td colspan={width - 1}>Taxable value</td><td class=n>{money(t.taxable)}</td></tr>{totals}
<tr class=total><td colspan={width - 1}>Total</td><td class=n>{money(t.total)}</td></tr>
{in_words}
<tr><td colspan={width - 1}>Paid</td><td class=n>{money(invoice.amount_paid)}</td></tr>
<tr class=total><td colspan={width - 1}>Amount due</td><td class=n>{money(amount_due(invoice))}</td></tr>
</tfoot></table>
{f"<p>{e(invoice.notes)}</p>" if invoice.notes else ""}
<p>Authorised signatory, {e(t.supplier.name)} (computer-generated invoice)</p>
</body></html>
"""


async def invoice_html(invoice: Invoice, language: str | None = None) -> str:
    """The page in ``language`` (default: the invoice's customer's)."""
    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position")
    customer = await Customer.get(id=invoice.customer_id, tenant_id=invoice.tenant_id)
    tenant = await Tenant.get(id=invoice.tenant_id)
    profile = await TenantProfile.get_or_none(tenant_id=invoice.tenant_id)
    return render_invoice(invoice, build(invoice, lines, customer, tenant, profile), language)
