"""The invoice as a self-contained HTML page a customer can be sent: inline CSS, no scripts,
no external resources, every value escaped."""

from __future__ import annotations

from html import escape

from seva_crm.core.billing.invoices import amount_due, tax_lines
from seva_crm.core.common import localise
from seva_crm.core.models import Customer, Invoice, InvoiceLine, Tenant

SYMBOLS = {"INR": "₹", "BDT": "৳"}


def format_money(amount: int, currency: str, language: str | None = "en") -> str:
    """17700000 INR -> '₹1,77,000.00' (``core.common.localise.money``)."""
    return localise.money(amount, currency, language)


def format_rate(rate_bp: int) -> str:
    whole, frac = divmod(rate_bp, 100)
    return f"{whole}%" if not frac else f"{whole}.{frac:02d}".rstrip("0") + "%"


def render_invoice(invoice: Invoice, lines: list[InvoiceLine], customer: Customer, tenant: Tenant) -> str:
    cur = invoice.currency.value
    e = escape

    def money(value: int) -> str:
        return e(format_money(value, cur))

    rows = "".join(
        f"<tr><td>{e(line.description)}</td><td class=n>{line.quantity}</td><td class=n>{money(line.unit_amount)}</td>"
        f"<td class=n>{e(format_rate(line.tax_rate_bp))}</td><td class=n>{money(line.amount)}</td></tr>"
        for line in lines
    )
    taxes = "".join(
        f"<tr><td colspan=4>Tax {e(format_rate(t.rate_bp))} on {money(t.taxable)}</td><td class=n>{money(t.tax)}</td></tr>"
        for t in tax_lines(lines)
    )
    period = ""
    if invoice.period_start and invoice.period_end and invoice.period_end > invoice.period_start:
        period = f"<p>Period: {e(invoice.period_start.isoformat())} to {e(invoice.period_end.isoformat())}</p>"
    address = f"<br>{e(customer.address)}" if customer.address else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Invoice {e(invoice.number)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{width:100%;border-collapse:collapse}}td,th{{padding:.4rem;border-bottom:1px solid #ddd;text-align:left}}
.n{{text-align:right}}.total td{{font-weight:bold}}.status{{text-transform:uppercase;letter-spacing:.1em}}</style>
</head><body>
<h1>{e(tenant.name)}</h1>
<h2>Invoice {e(invoice.number)} <span class=status>{e(invoice.status.value)}</span></h2>
<p>Issued {e(invoice.issued_on.isoformat())} &middot; Due {e(invoice.due_on.isoformat())}</p>
{period}<p>Billed to: {e(customer.name)}{address}</p>
<table><thead><tr><th>Item</th><th class=n>Qty</th><th class=n>Unit price</th><th class=n>Tax</th><th class=n>Amount</th></tr></thead>
<tbody>{rows}</tbody><tfoot>
<tr><td colspan=4>Subtotal</td><td class=n>{money(invoice.subtotal)}</td></tr>{taxes}
<tr class=total><td colspan=4>Total</td><td class=n>{money(invoice.total)}</td></tr>
<tr><td colspan=4>Paid</td><td class=n>{money(invoice.amount_paid)}</td></tr>
<tr class=total><td colspan=4>Amount due</td><td class=n>{money(amount_due(invoice))}</td></tr>
</tfoot></table>
{f"<p>{e(invoice.notes)}</p>" if invoice.notes else ""}
</body></html>
"""


async def invoice_html(invoice: Invoice) -> str:
    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position")
    customer = await Customer.get(id=invoice.customer_id, tenant_id=invoice.tenant_id)
    tenant = await Tenant.get(id=invoice.tenant_id)
    return render_invoice(invoice, lines, customer, tenant)
