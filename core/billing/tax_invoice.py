"""The tax invoice: what India's GST (CGST Rules, rule 46) and Bangladesh's VAT (Mushak-6.3) ask
an invoice to carry, computed from the invoice, its lines and the tax identities it was issued
with.

India: a supply within the supplier's state (place of supply = supplier's state) is taxed as
CGST + SGST, half the rate each; across states as IGST at the full rate. The place of supply is
the registered (or stated) recipient's GST state, else the supplier's. Rounding, in integer
paise: each line's tax is rounded half up on the line (``core.billing.money.tax_on``); CGST is
half of it rounded half up, SGST the rest, so CGST + SGST is the line's tax exactly, and the
invoice's totals are the sums of its lines: taxable + CGST + SGST (or IGST) = total, always.

Bangladesh: the line's VAT at its rate, no supplementary duty (0), value excluding tax, and the
date and time of issue in Asia/Dhaka."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from seva_crm.core.billing.money import round_half_up
from seva_crm.core.common.enums import Region
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.tax_ids import GST_STATES, check_state_code, check_tax_id, financial_year, fy_label
from seva_crm.core.customers.customers import get_customer
from seva_crm.core.models import Customer, CustomerTax, Invoice, InvoiceLine, Tenant, TenantProfile
from seva_crm.core.platform import audit

B2C_ADDRESS_LIMIT = 50_000_00  # paise: above INR 50,000 an unregistered recipient's address and state are printed


@dataclass(frozen=True)
class Parties:
    region: Region
    supplier_tax_id: str
    supplier_state_code: str
    recipient_tax_id: str
    place_of_supply: str


async def parties(tenant_id: UUID, customer_id: UUID) -> Parties:
    """The tax identities an invoice is issued with, as they are now."""
    tenant = await Tenant.get(id=tenant_id).only("id", "region")
    profile = await TenantProfile.get_or_none(tenant_id=tenant_id)
    tax = await CustomerTax.get_or_none(tenant_id=tenant_id, customer_id=customer_id)
    if tenant.region is Region.IN:
        supplier_state = profile.state_code if profile else ""
        return Parties(tenant.region, profile.gstin if profile else "", supplier_state, tax.tax_id if tax else "",
                       (tax.state_code if tax and tax.state_code else "") or supplier_state)
    return Parties(tenant.region, profile.bin if profile else "", "", tax.tax_id if tax else "", "")


async def set_customer_tax(tenant: TenantScope, customer_id: UUID | None, tax_id: str | None, state_code: str | None) -> CustomerTax:
    """A business customer's GSTIN (India; its state code becomes the place of supply) or BIN
    (Bangladesh); empty values make the customer unregistered again. Audited (as digests)."""
    customer = await get_customer(tenant.id, customer_id, "customerId")
    errors = []
    try:
        tax_id = check_tax_id(tenant.region, tax_id, "taxId")
    except DomainError as exc:
        errors.extend(exc.errors)
    try:
        state_code = check_state_code(state_code) if tenant.region is Region.IN else ""
    except DomainError as exc:
        errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    if tax_id and tenant.region is Region.IN:
        if state_code and state_code != tax_id[:2]:
            raise DomainError.of("stateCode", ErrorCode.INVALID, f"the GSTIN is of state {tax_id[:2]}")
        state_code = tax_id[:2]
    row, _ = await CustomerTax.get_or_create(tenant_id=tenant.id, customer_id=customer.id)
    row.tax_id, row.state_code = tax_id or "", state_code or ""
    await row.save()
    await audit.record(tenant.id, "customer.tax_id_set", subject_type="customer", subject_id=customer.id,
                       changed=["tax_id", "state_code"], details={"tax_id": audit.personal(row.tax_id) if row.tax_id else "",
                                                                  "state_code": row.state_code})
    return row


@dataclass(frozen=True)
class TaxLineItem:
    position: int
    description: str
    hsn_sac: str
    quantity: int
    unit_amount: int
    taxable: int  # value before tax
    rate_bp: int
    cgst: int
    sgst: int
    igst: int
    vat: int  # Bangladesh
    supplementary_duty: int
    total: int


@dataclass(frozen=True)
class Party:
    name: str
    address: list[str]
    tax_id: str
    state: str = ""
    state_code: str = ""


@dataclass
class TaxInvoice:
    region: Region
    title: str
    number: str
    financial_year: str
    issued_on: object
    issued_at: datetime
    timezone: str
    supplier: Party
    recipient: Party
    inter_state: bool
    place_of_supply: str  # "27 Maharashtra"
    currency: str
    recipient_language: str = "en"  # the customer's language (en, hi, bn): what they read the invoice in
    lines: list[TaxLineItem] = field(default_factory=list)
    taxable: int = 0
    cgst: int = 0
    sgst: int = 0
    igst: int = 0
    vat: int = 0
    supplementary_duty: int = 0
    total: int = 0


def split_gst(tax: int, inter_state: bool) -> tuple[int, int, int]:
    """(CGST, SGST, IGST) of one line's tax; the parts add up to it exactly."""
    if inter_state:
        return 0, 0, tax
    cgst = round_half_up(tax, 2)
    return cgst, tax - cgst, 0


def build(invoice: Invoice, lines: list[InvoiceLine], customer: Customer, tenant: Tenant, profile: TenantProfile | None) -> TaxInvoice:
    india = tenant.region is Region.IN
    inter = india and bool(invoice.supplier_state_code) and invoice.place_of_supply != invoice.supplier_state_code
    p = profile or TenantProfile(tenant_id=tenant.id)
    supplier_address = [x for x in (p.address_line1, p.address_line2, " ".join(x for x in (p.city, p.postal_code) if x),
                                    p.state) if x]
    supplier = Party(p.legal_name or tenant.name, supplier_address, invoice.supplier_tax_id,
                     GST_STATES.get(invoice.supplier_state_code, ""), invoice.supplier_state_code)
    show_address = not india or bool(invoice.recipient_tax_id) or invoice.total > B2C_ADDRESS_LIMIT or bool(customer.address)
    recipient = Party(customer.name, [line for line in (customer.address or "").splitlines() if line.strip()] if show_address else [],
                      invoice.recipient_tax_id, GST_STATES.get(invoice.place_of_supply, ""), invoice.place_of_supply)
    out = TaxInvoice(
        region=tenant.region, title="Tax Invoice" if india else "Tax Invoice (Mushak-6.3)", number=invoice.number,
        financial_year=fy_label(financial_year(tenant.region, invoice.issued_on)), issued_on=invoice.issued_on,
        issued_at=invoice.created_at, timezone=tenant.timezone, supplier=supplier, recipient=recipient, inter_state=inter,
        place_of_supply=f"{invoice.place_of_supply} {GST_STATES.get(invoice.place_of_supply, '')}".strip(),
        currency=invoice.currency.value, recipient_language=customer.language.value,
    )
    for line in lines:
        cgst, sgst, igst = split_gst(line.tax_amount, inter) if india else (0, 0, 0)
        vat = 0 if india else line.tax_amount
        item = TaxLineItem(line.position + 1, line.description, line.hsn_sac, line.quantity, line.unit_amount, line.amount,
                           line.tax_rate_bp, cgst, sgst, igst, vat, 0, line.amount + line.tax_amount)
        out.lines.append(item)
        out.taxable += item.taxable
        out.cgst, out.sgst, out.igst, out.vat = out.cgst + cgst, out.sgst + sgst, out.igst + igst, out.vat + vat
        out.total += item.total
    return out


async def tax_invoice(invoice: Invoice) -> TaxInvoice:
    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position")
    customer = await Customer.get(id=invoice.customer_id, tenant_id=invoice.tenant_id)
    tenant = await Tenant.get(id=invoice.tenant_id)
    profile = await TenantProfile.get_or_none(tenant_id=invoice.tenant_id)
    return build(invoice, lines, customer, tenant, profile)
