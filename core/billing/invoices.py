"""Invoices: lines and tax, totals, gapless numbers, status, voiding.

Rounding: each line's amount is quantity x unit amount (exact); its tax is rounded half up to the
minor unit on that line; the invoice's tax total is the sum of the lines' taxes, and its total
is subtotal + tax total. Prices are before tax. Amounts are never negative (no credit lines yet)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from tortoise.queryset import QuerySet

from seva_crm.core.billing import numbering
from seva_crm.core.billing.clock import tenant_today
from seva_crm.core.billing.money import days, tax_on
from seva_crm.core.billing.plans import check_amount, check_currency, check_tax_rate
from seva_crm.core.billing.settings import billing_settings
from seva_crm.core.customers.customers import get_customer
from seva_crm.core.common.enums import Currency, InvoiceStatus
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError, NotFound
from seva_crm.core.models import Invoice, InvoiceLine
from seva_crm.core.platform import audit
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.storage.transactions import transaction
from seva_crm.core.common.paging import SortKey, date_key, datetime_key
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.tax_ids import check_hsn_sac, financial_year
from seva_crm.core.common.validation import collect, require_text

Status = InvoiceStatus
TRANSITIONS: dict[InvoiceStatus, set[InvoiceStatus]] = {
    Status.DRAFT: {Status.OPEN, Status.VOID},
    Status.OPEN: {Status.PAID, Status.VOID, Status.UNCOLLECTIBLE, Status.REFUNDED},
    Status.UNCOLLECTIBLE: {Status.PAID, Status.VOID, Status.REFUNDED},
    Status.PAID: {Status.REFUNDED},  # a refund took it below its total
    Status.REFUNDED: {Status.PAID, Status.VOID},  # PAID: a gateway refund failed, the money stayed with us
    Status.VOID: set(),
}
PAYABLE = (Status.OPEN, Status.UNCOLLECTIBLE)
DUNNED = (Status.OPEN,)  # what reminders are sent for: not written off, not refunded
MAX_LINES = 100
MAX_QUANTITY = 1_000_000

SORTS: dict[str, SortKey] = {
    "CREATED_AT_DESC": datetime_key("created_at", True),
    "DUE_ON_ASC": date_key("due_on", False),
    "DUE_ON_DESC": date_key("due_on", True),
}


@dataclass(frozen=True)
class LineDraft:
    description: str
    quantity: int
    unit_amount: int
    tax_rate_bp: int
    hsn_sac: str = ""

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount

    @property
    def tax_amount(self) -> int:
        return tax_on(self.amount, self.tax_rate_bp)


@dataclass(frozen=True)
class TaxLine:
    rate_bp: int
    taxable: int
    tax: int


def clean_lines(lines: list[dict[str, Any]]) -> list[LineDraft]:
    if not lines:
        raise DomainError.of("lines", ErrorCode.REQUIRED, "an invoice needs at least one line")
    if len(lines) > MAX_LINES:
        raise DomainError.of("lines", ErrorCode.INVALID, f"at most {MAX_LINES} lines")
    out, errors = [], []
    for i, line in enumerate(lines):
        try:
            description, quantity, unit_amount, tax_rate_bp, hsn_sac = collect(
                lambda line=line, i=i: require_text(line.get("description"), f"lines.{i}.description", 300),
                lambda line=line, i=i: check_quantity(line.get("quantity", 1), f"lines.{i}.quantity"),
                lambda line=line, i=i: check_amount(line.get("unit_amount"), f"lines.{i}.unitAmount"),
                lambda line=line, i=i: check_tax_rate(line.get("tax_rate_bp", 0), f"lines.{i}.taxRateBp"),
                lambda line=line, i=i: check_hsn_sac(line.get("hsn_sac"), f"lines.{i}.hsnSac"),
            )
            out.append(LineDraft(description, quantity, unit_amount, tax_rate_bp, hsn_sac))
        except DomainError as exc:
            errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    return out


def check_quantity(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_QUANTITY:
        raise DomainError.of(field, ErrorCode.INVALID, f"between 1 and {MAX_QUANTITY}")
    return value


def tax_lines(lines: list[InvoiceLine] | list[LineDraft]) -> list[TaxLine]:
    """The invoice's tax summary by rate (each rate's tax is the sum of its lines' rounded taxes)."""
    taxable: dict[int, int] = defaultdict(int)
    tax: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.tax_rate_bp:
            taxable[line.tax_rate_bp] += line.amount
            tax[line.tax_rate_bp] += line.tax_amount
    return [TaxLine(rate, taxable[rate], tax[rate]) for rate in sorted(taxable)]


async def create_invoice(tenant: TenantScope, data: dict[str, Any]) -> Invoice:
    """A manual invoice, issued at once (status open) with the next number."""
    errors: list[FieldError] = []
    lines: list[LineDraft] = []
    try:
        lines = clean_lines(data.get("lines") or [])
    except DomainError as exc:
        errors.extend(exc.errors)
    customer = None
    try:
        customer = await get_customer(tenant.id, data.get("customer_id"), "customerId")
        if customer.deleted_at is not None:
            errors.append(FieldError("customerId", ErrorCode.INVALID, "customer is deleted; restore it first"))
    except DomainError as exc:
        errors.extend(exc.errors)
    today = await tenant_today(tenant.id)
    due_on = data.get("due_on")
    if due_on is not None and due_on < today:
        errors.append(FieldError("dueOn", ErrorCode.INVALID, "cannot be before today"))
    currency = None
    try:
        currency = check_currency(data.get("currency"), tenant)
    except DomainError as exc:
        errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    if due_on is None:
        due_on = today + days((await billing_settings(tenant.id)).invoice_due_days)
    return await issue_invoice(tenant.id, customer.id, currency, lines, issued_on=today, due_on=due_on,
                               notes=(data.get("notes") or "").strip()[:2000])


async def issue_invoice(
    tenant_id: UUID, customer_id: UUID, currency: Currency, lines: list[LineDraft], *, issued_on: date, due_on: date,
    subscription_id: UUID | None = None, period: tuple[date, date] | None = None, notes: str = "",
) -> Invoice:
    """Number and save an invoice with its lines in one transaction, with the tax identities of
    both sides as they are today (``core.billing.tax_invoice.parties``)."""
    from seva_crm.core.billing.tax_invoice import parties

    prefix = (await billing_settings(tenant_id)).invoice_prefix
    tax_ids = await parties(tenant_id, customer_id)
    year = financial_year(tax_ids.region, issued_on)
    await numbering.ensure_counter(tenant_id, year)
    subtotal = sum(line.amount for line in lines)
    tax_total = sum(line.tax_amount for line in lines)
    async with transaction() as conn:
        number = await numbering.take_number(conn, tenant_id, year, prefix)
        invoice = await Invoice.create(
            using_db=conn, tenant_id=tenant_id, customer_id=customer_id, subscription_id=subscription_id, number=number,
            status=InvoiceStatus.OPEN, currency=currency, subtotal=subtotal, tax_total=tax_total,
            total=subtotal + tax_total, issued_on=issued_on, due_on=due_on, notes=notes,
            period_start=period[0] if period else None, period_end=period[1] if period else None,
            supplier_tax_id=tax_ids.supplier_tax_id, supplier_state_code=tax_ids.supplier_state_code,
            recipient_tax_id=tax_ids.recipient_tax_id, place_of_supply=tax_ids.place_of_supply,
        )
        await InvoiceLine.bulk_create([
            InvoiceLine(tenant_id=tenant_id, invoice_id=invoice.id, position=i, description=line.description,
                        quantity=line.quantity, unit_amount=line.unit_amount, amount=line.amount,
                        tax_rate_bp=line.tax_rate_bp, tax_amount=line.tax_amount, hsn_sac=line.hsn_sac)
            for i, line in enumerate(lines)
        ], using_db=conn)
        change_feed.record(tenant_id, ChangeType.INVOICE, invoice.id, Op.CREATED)
    return invoice


def check_voidable(invoice: Invoice) -> None:
    if Status.VOID not in TRANSITIONS[invoice.status]:
        raise DomainError.of("id", ErrorCode.INVALID_TRANSITION, f"invoice cannot move from {invoice.status.value} to void")
    if invoice.amount_paid > 0:
        raise DomainError.of("id", ErrorCode.INVALID, "payments were taken on this invoice: refund them first")


async def void_invoice(tenant: TenantScope, invoice_id: UUID | None) -> Invoice:
    """Void keeps the number (numbering stays gapless) and the lines; nothing is owed any more.
    Use ``core.billing.voiding.void`` from the API: it also cancels the invoice's payment links."""
    async with transaction() as conn:
        invoice = await _locked(conn, tenant.id, invoice_id)
        check_voidable(invoice)
        move(invoice, InvoiceStatus.VOID)
        invoice.voided_at = utcnow()
        await invoice.save(using_db=conn, update_fields=["status", "voided_at", "updated_at"])
        change_feed.record(tenant.id, ChangeType.INVOICE, invoice.id, Op.UPDATED)
        await audit.record(tenant.id, "invoice.voided", subject_type="invoice", subject_id=invoice.id,
                           changed=["status"], details={"number": invoice.number, "total": invoice.total,
                                                        "currency": invoice.currency.value})
    return invoice


async def write_off_invoice(tenant: TenantScope, invoice_id: UUID | None) -> Invoice:
    """Give up collecting an open invoice: status uncollectible, no more reminders. A payment
    that still comes is taken (and pays it)."""
    async with transaction() as conn:
        invoice = await _locked(conn, tenant.id, invoice_id)
        move(invoice, InvoiceStatus.UNCOLLECTIBLE)
        await invoice.save(using_db=conn, update_fields=["status", "updated_at"])
        change_feed.record(tenant.id, ChangeType.INVOICE, invoice.id, Op.UPDATED)
        await audit.record(tenant.id, "invoice.written_off", subject_type="invoice", subject_id=invoice.id,
                           changed=["status"], details={"number": invoice.number, "amount_due": amount_due(invoice),
                                                        "currency": invoice.currency.value})
    return invoice


def move(invoice: Invoice, to: InvoiceStatus, field: str = "id") -> None:
    if to not in TRANSITIONS[invoice.status]:
        raise DomainError.of(field, ErrorCode.INVALID_TRANSITION, f"invoice cannot move from {invoice.status.value} to {to.value}")
    invoice.status = to


async def _locked(conn, tenant_id: UUID, invoice_id: UUID | None, field: str = "id") -> Invoice:
    invoice = await Invoice.select_for_update().using_db(conn).get_or_none(id=invoice_id, tenant_id=tenant_id) if invoice_id else None
    if invoice is None:
        raise NotFound("invoice", field)
    return invoice


async def lock_invoice(conn, tenant_id: UUID, invoice_id: UUID | None, field: str = "id") -> Invoice:
    return await _locked(conn, tenant_id, invoice_id, field)


async def get_invoice(tenant_id: UUID, invoice_id: UUID | None, field: str = "id") -> Invoice:
    invoice = await Invoice.get_or_none(id=invoice_id, tenant_id=tenant_id) if invoice_id else None
    if invoice is None:
        raise NotFound("invoice", field)
    return invoice


def amount_due(invoice: Invoice) -> int:
    return max(invoice.total - invoice.amount_paid, 0) if invoice.status in PAYABLE else 0


def is_overdue(invoice: Invoice, today: date) -> bool:
    return invoice.status in PAYABLE and invoice.due_on < today


@dataclass
class InvoiceFilter:
    statuses: list[InvoiceStatus] = field(default_factory=list)
    customer_id: UUID | None = None
    subscription_id: UUID | None = None
    due_from: date | None = None  # due on or after
    due_to: date | None = None  # due on or before
    overdue_on: date | None = None  # open and due before this day
    issued_from: date | None = None
    issued_to: date | None = None


def invoice_queryset(tenant_id: UUID, f: InvoiceFilter) -> QuerySet[Invoice]:
    qs = Invoice.filter(tenant_id=tenant_id)
    if f.statuses:
        qs = qs.filter(status__in=f.statuses)
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    if f.subscription_id:
        qs = qs.filter(subscription_id=f.subscription_id)
    if f.due_from:
        qs = qs.filter(due_on__gte=f.due_from)
    if f.due_to:
        qs = qs.filter(due_on__lte=f.due_to)
    if f.overdue_on:
        qs = qs.filter(status__in=PAYABLE, due_on__lt=f.overdue_on)
    if f.issued_from:
        qs = qs.filter(issued_on__gte=f.issued_from)
    if f.issued_to:
        qs = qs.filter(issued_on__lte=f.issued_to)
    return qs


def settle(invoice: Invoice, now: datetime, *, refunded: bool = False) -> bool:
    """Move the invoice to paid when its net payments cover it; after a refund (``refunded``) to
    refunded: the money went back, so nothing is asked for any more (no reminder, no overdue),
    and a new invoice is the way to bill again. A refunded invoice whose failed gateway refund
    gave the money back is paid again. Returns True when it has just become paid. The caller saves."""
    if refunded and invoice.status in (*PAYABLE, InvoiceStatus.PAID):
        invoice.status = InvoiceStatus.REFUNDED
        return False
    if invoice.status in (*PAYABLE, InvoiceStatus.REFUNDED) and invoice.amount_paid >= invoice.total:
        invoice.status, invoice.paid_at = InvoiceStatus.PAID, now
        return True
    return False
