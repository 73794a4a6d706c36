"""A way to pay on every Indian invoice: the UPI payment link (NPCI's ``upi://pay`` deep link)
and its QR code, for the tenant's UPI id (billing setting ``upi_vpa``).

``upi://pay?pa=<VPA>&pn=<payee name>&am=<amount, 2 decimals>&cu=INR&tn=<note>&tr=<reference>``,
every value percent-encoded. The reference is the invoice number: staff reconcile a UPI payment
by recording it with method UPI and that reference (or the payer's UPI transaction id)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import quote

import segno

from seva_crm.core.billing.invoices import amount_due
from seva_crm.core.billing.settings import billing_settings
from seva_crm.core.common.enums import Currency
from seva_crm.core.common.localise import to_major
from seva_crm.core.models import Invoice, Tenant, TenantProfile


@dataclass(frozen=True)
class UpiRequest:
    uri: str
    vpa: str
    payee: str
    amount: int  # minor units
    reference: str


def upi_uri(vpa: str, payee: str, amount: int, note: str, reference: str) -> str:
    values = {"pa": vpa, "pn": payee[:50], "am": f"{to_major(amount, 'INR'):.2f}", "cu": "INR", "tn": note[:50],
              "tr": reference[:35]}
    return "upi://pay?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in values.items())


def qr_png(text: str, scale: int = 6) -> bytes:
    """The QR code of ``text`` as a PNG (error correction M, the quiet zone included)."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


async def upi_request(invoice: Invoice) -> UpiRequest | None:
    """The invoice's UPI request, or None: not in INR, nothing due, or no UPI id set."""
    due = amount_due(invoice)
    if invoice.currency is not Currency.INR or due <= 0:
        return None
    vpa = (await billing_settings(invoice.tenant_id)).upi_vpa
    if not vpa:
        return None
    profile = await TenantProfile.get_or_none(tenant_id=invoice.tenant_id).only("id", "legal_name")
    payee = (profile.legal_name if profile and profile.legal_name else
             (await Tenant.get(id=invoice.tenant_id).only("id", "name")).name)
    return UpiRequest(upi_uri(vpa, payee, due, f"Invoice {invoice.number}", invoice.number), vpa, payee, due, invoice.number)
