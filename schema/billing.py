"""Billing: plans, subscriptions, invoices, payments, payment links and the dashboard summary.

Amounts in billing outputs are ``BigMoney``: ``amount`` is a ``BigInt``, an integer of minor
units serialised as a string of digits (``"123456"``), because GraphQL's Int is 32-bit and sums
over many invoices pass 2^31 (and JavaScript numbers lose precision past 2^53). Inputs take one
line or payment at a time, so they stay plain Int minor units."""

from __future__ import annotations

import base64
from datetime import date, datetime
from uuid import UUID

import strawberry
from strawberry import Info

from seva_crm.core.billing import gateways, invoices, payments, plan_changes, plans, sending, subscriptions, tax_invoice, upi
from seva_crm.core.billing import voiding
from seva_crm.core.billing.clock import tenant_today
from seva_crm.core.billing.html import invoice_html
from seva_crm.core.billing.pdf import invoice_pdf
from seva_crm.core.billing.summary import billing_summary
from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.models import Invoice as InvoiceRow
from seva_crm.core.models import Payment as PaymentRow
from seva_crm.core.models import PaymentLink as PaymentLinkRow
from seva_crm.core.models import Plan as PlanRow
from seva_crm.core.models import Refund as RefundRow
from seva_crm.core.models import Subscription as SubscriptionRow
from seva_crm.core.models import Tenant as TenantRow
from seva_crm.core.common.paging import encode_cursor
from seva_crm.schema.customers import Customer, customer_id
from seva_crm.schema.enums import (
    BillingInterval,
    Currency,
    InvoiceOrder,
    InvoiceStatus,
    Language,
    PaymentMethod,
    PaymentOrder,
    PaymentStatus,
    PlanOrder,
    RefundStatus,
    SubscriptionOrder,
    SubscriptionStatus,
)
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs
from seva_crm.schema.relay import Connection, connection, list_connection
from seva_crm.schema.scalars import BigInt
from seva_crm.schema.tax_invoice import TaxInvoice, to_graphql

MAX_NESTED = 100


@strawberry.type(description="An amount of money in integer minor units (paise, poisha); amount is a BigInt string.")
class BigMoney:
    amount: BigInt
    currency: Currency


def _money(amount: int, currency) -> BigMoney:
    return BigMoney(amount=amount, currency=currency)


def gid(kind: str, value: str | None) -> UUID | None:
    return from_global_id(value, kind) if value else None


NOWHERE = UUID(int=0)  # an unknown or foreign id in a filter matches nothing, as if it did not exist


@strawberry.type(description="An item of the tenant's catalogue. Prices are before tax.")
class Plan:
    @strawberry.field
    def id(self: PlanRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Plan", self.id))

    name: str
    interval: BillingInterval
    tax_rate_bp: int = strawberry.field(description="Tax rate in basis points: 1800 is 18%")
    hsn_sac: str = strawberry.field(description="HSN (goods) or SAC (services) code printed on tax invoices, e.g. 998422")
    active: bool
    created_at: datetime

    @strawberry.field
    def price(self: PlanRow) -> BigMoney:
        return _money(self.amount, self.currency)


@strawberry.type
class Subscription:
    @strawberry.field
    def id(self: SubscriptionRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Subscription", self.id))

    status: SubscriptionStatus
    started_on: date
    current_period_start: date
    current_period_end: date = strawberry.field(description="Exclusive: the next period starts on this day")
    next_renewal_on: date | None
    auto_renew: bool
    grace_days: int
    paused_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime

    @strawberry.field
    async def customer(self: SubscriptionRow, info: Info) -> Customer | None:
        return await info.context.loaders.customer.load(self.customer_id)

    @strawberry.field
    async def plan(self: SubscriptionRow, info: Info) -> Plan | None:
        return await info.context.loaders.plan.load(self.plan_id)

    @strawberry.field(description="The subscription's latest invoices, newest first. Page further with Query.invoices.")
    async def invoices(self: SubscriptionRow, info: Info, first: int = 10) -> Connection[Invoice]:
        rows = await info.context.loaders.invoices_by_subscription.load(self.id)
        return list_connection(rows[: max(0, min(first, MAX_NESTED))], len(rows), lambda r: encode_cursor(r.created_at, r.id))


@strawberry.type(description="One line of an invoice; amounts are minor units of the invoice's currency.")
class InvoiceLine:
    description: str
    quantity: int
    unit_amount: BigInt
    amount: BigInt = strawberry.field(description="Quantity x unit amount")
    tax_rate_bp: int
    tax_amount: BigInt = strawberry.field(description="Tax on this line, rounded half up to the minor unit")
    hsn_sac: str


@strawberry.type(description="The tax at one rate: the sum of its lines' rounded taxes.")
class TaxLine:
    rate_bp: int
    taxable: BigMoney
    tax: BigMoney


@strawberry.type
class Refund:
    @strawberry.field
    def id(self: RefundRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Refund", self.id))

    amount: BigInt = strawberry.field(description="Minor units of the payment's currency")
    status: RefundStatus
    reason: str
    created_at: datetime

    @strawberry.field(description="The member of staff who made it; null for a gateway's or the system's refund")
    def refunded_by_id(self: RefundRow) -> strawberry.ID | None:
        return strawberry.ID(to_global_id("User", self.refunded_by_id)) if self.refunded_by_id else None


@strawberry.type
class Payment:
    @strawberry.field
    def id(self: PaymentRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Payment", self.id))

    status: PaymentStatus
    method: PaymentMethod
    reference: str
    provider: str | None = strawberry.field(description="The gateway plugin that took it, e.g. razorpay")
    provider_payment_id: str | None
    received_at: datetime
    created_at: datetime

    @strawberry.field
    def amount(self: PaymentRow) -> BigMoney:
        return _money(self.amount, self.currency)

    @strawberry.field
    def refunded_amount(self: PaymentRow) -> BigMoney:
        return _money(self.refunded_amount, self.currency)

    @strawberry.field
    async def invoice(self: PaymentRow, info: Info) -> Invoice | None:
        return await info.context.loaders.invoice.load(self.invoice_id)

    @strawberry.field
    async def refunds(self: PaymentRow, info: Info) -> list[Refund]:
        return await info.context.loaders.refunds_by_payment.load(self.id)


@strawberry.type(description="A hosted payment page at a gateway for one invoice.")
class PaymentLink:
    @strawberry.field
    def id(self: PaymentLinkRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("PaymentLink", self.id))

    provider: str
    provider_id: str
    reference_id: str
    status: str = strawberry.field(description="The gateway's status: created, partially_paid, paid, expired, cancelled")
    short_url: str
    created_at: datetime

    @strawberry.field
    def amount(self: PaymentLinkRow) -> BigMoney:
        return _money(self.amount, self.currency)


@strawberry.type(description="A UPI payment request for what is due: the upi://pay link and its QR code")
class UpiPayment:
    uri: str = strawberry.field(description="upi://pay?pa=...&pn=...&am=...&cu=INR&tn=...&tr=<invoice number>")
    vpa: str
    payee_name: str
    reference: str = strawberry.field(description="Record the payment with method UPI and this reference")
    qr_png_base64: str = strawberry.field(description="The QR code of the uri, a PNG in base64")


@strawberry.type
class Invoice:
    @strawberry.field
    def id(self: InvoiceRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Invoice", self.id))

    number: str
    status: InvoiceStatus
    issued_on: date
    due_on: date
    period_start: date | None
    period_end: date | None
    paid_at: datetime | None
    voided_at: datetime | None
    notes: str
    created_at: datetime

    @strawberry.field
    def subtotal(self: InvoiceRow) -> BigMoney:
        return _money(self.subtotal, self.currency)

    @strawberry.field
    def tax_total(self: InvoiceRow) -> BigMoney:
        return _money(self.tax_total, self.currency)

    @strawberry.field
    def total(self: InvoiceRow) -> BigMoney:
        return _money(self.total, self.currency)

    @strawberry.field(description="Captured payments net of refunds")
    def amount_paid(self: InvoiceRow) -> BigMoney:
        return _money(self.amount_paid, self.currency)

    @strawberry.field
    def amount_due(self: InvoiceRow) -> BigMoney:
        return _money(invoices.amount_due(self), self.currency)

    @strawberry.field
    async def lines(self: InvoiceRow, info: Info) -> list[InvoiceLine]:
        return await info.context.loaders.lines_by_invoice.load(self.id)

    @strawberry.field
    async def tax_lines(self: InvoiceRow, info: Info) -> list[TaxLine]:
        rows = await info.context.loaders.lines_by_invoice.load(self.id)
        return [TaxLine(rate_bp=t.rate_bp, taxable=_money(t.taxable, self.currency), tax=_money(t.tax, self.currency))
                for t in invoices.tax_lines(rows)]

    @strawberry.field
    async def customer(self: InvoiceRow, info: Info) -> Customer | None:
        return await info.context.loaders.customer.load(self.customer_id)

    @strawberry.field
    async def subscription(self: InvoiceRow, info: Info) -> Subscription | None:
        return await info.context.loaders.subscription.load(self.subscription_id) if self.subscription_id else None

    @strawberry.field
    async def payments(self: InvoiceRow, info: Info) -> list[Payment]:
        return await info.context.loaders.payments_by_invoice.load(self.id)

    @strawberry.field
    async def payment_link(self: InvoiceRow, info: Info) -> PaymentLink | None:
        links = await info.context.loaders.links_by_invoice.load(self.id)
        return links[-1] if links else None

    @strawberry.field(description="India: pay by UPI (the tenant's UPI id, the amount due, the invoice number as reference); "
                                  "null when nothing is due or no UPI id is set")
    async def upi(self: InvoiceRow) -> UpiPayment | None:
        found = await upi.upi_request(self)
        if found is None:
            return None
        return UpiPayment(uri=found.uri, vpa=found.vpa, payee_name=found.payee, reference=found.reference,
                          qr_png_base64=base64.b64encode(upi.qr_png(found.uri)).decode())

    @strawberry.field(description="The printable PDF (A4, fonts embedded), base64, in the customer's language or the one given "
                                  "(renders a document: ask for one invoice at a time)")
    async def pdf_base64(self: InvoiceRow, language: Language | None = None) -> str:
        return base64.b64encode(await invoice_pdf(self, language.value if language else None)).decode()

    @strawberry.field(description="The invoice's tax invoice fields: GST (CGST + SGST or IGST, place of supply) in India, "
                                  "Mushak-6.3 VAT in Bangladesh, the total in words in `language` (default: the customer's) "
                                  "and in English (costs a few queries: ask for one invoice at a time)")
    async def tax_invoice(self: InvoiceRow, info: Info, language: Language | None = None) -> TaxInvoice:
        tenant = await TenantRow.get(id=self.tenant_id).only("id", "locale")
        t = await tax_invoice.tax_invoice(self)
        return to_graphql(t, tenant.locale, language.value if language else t.recipient_language)

    @strawberry.field(description="The invoice as a self-contained HTML page to send the customer, in `language` (default: "
                                  "the customer's): money, dates and the total in words (with the English words) "
                                  "(costs a few queries: ask for one invoice at a time)")
    async def html(self: InvoiceRow, language: Language | None = None) -> str:
        return await invoice_html(self, language.value if language else None)


@strawberry.type(description="Dashboard figures in one currency, in minor units.")
class BillingSummary:
    currency: Currency
    dues_outstanding: BigInt = strawberry.field(description="What open invoices still ask for")
    overdue: BigInt = strawberry.field(description="The part of the dues past their due date")
    collected_this_month: BigInt = strawberry.field(description="Payments received this calendar month, less refunds made in it")
    mrr: BigInt = strawberry.field(description="Monthly recurring revenue before tax, of active and past-due subscriptions")
    active_subscriptions: int


# ------------------------------------------------------------------ inputs and payloads


@strawberry.input
class PlanFilter:
    active: bool | None = None


@strawberry.input
class SubscriptionFilter:
    status: list[SubscriptionStatus] | None = None
    customer_id: strawberry.ID | None = None
    plan_id: strawberry.ID | None = None
    renews_by: date | None = strawberry.field(default=None, description="Next renewal on or before this day")


@strawberry.input
class InvoiceFilter:
    status: list[InvoiceStatus] | None = None
    customer_id: strawberry.ID | None = None
    subscription_id: strawberry.ID | None = None
    due_from: date | None = strawberry.field(default=None, description="Due on or after this day")
    due_to: date | None = strawberry.field(default=None, description="Due on or before this day")
    overdue: bool | None = strawberry.field(default=None, description="true: unpaid and past the due date (tenant's today)")


@strawberry.input
class PaymentFilter:
    invoice_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    received_from: datetime | None = None
    received_before: datetime | None = None
    status: list[PaymentStatus] | None = None


@strawberry.input
class PlanCreateInput:
    name: str
    amount: int = strawberry.field(description="Price before tax, in minor units")
    interval: BillingInterval
    currency: Currency | None = strawberry.field(default=None, description="Default: the tenant's currency")
    tax_rate_bp: int = strawberry.field(default=0, description="Basis points: 1800 is 18% GST")
    hsn_sac: str | None = strawberry.field(default=None, description="HSN or SAC code, 4 to 8 digits")
    active: bool = True


@strawberry.input(description="Only the fields given change. A new price applies from each subscription's next invoice.")
class PlanUpdateInput:
    name: str | None = None
    amount: int | None = strawberry.field(default=None, description="Price before tax, in minor units")
    tax_rate_bp: int | None = None
    hsn_sac: str | None = None
    active: bool | None = None


@strawberry.input
class SubscriptionCreateInput:
    customer_id: strawberry.ID
    plan_id: strawberry.ID
    start_on: date | None = strawberry.field(default=None, description="Default: today")
    trial_days: int = 0
    auto_renew: bool = True
    grace_days: int | None = strawberry.field(
        default=None, description="Days after the due date before suspension; default from the tenant's settings")


@strawberry.input
class InvoiceLineInput:
    description: str
    unit_amount: int = strawberry.field(description="Minor units, before tax")
    quantity: int = 1
    tax_rate_bp: int = 0
    hsn_sac: str | None = None


@strawberry.input
class InvoiceCreateInput:
    customer_id: strawberry.ID
    lines: list[InvoiceLineInput]
    due_on: date | None = strawberry.field(default=None, description="Default: today plus the tenant's invoice due days")
    currency: Currency | None = None
    notes: str | None = None


@strawberry.input
class PaymentRecordInput:
    invoice_id: strawberry.ID
    amount: int = strawberry.field(description="Minor units; at most the amount due")
    method: PaymentMethod = PaymentMethod.CASH
    reference: str | None = strawberry.field(default=None, description="UPI reference, cheque or transfer number")
    received_at: datetime | None = None


@strawberry.input
class PaymentRefundInput:
    payment_id: strawberry.ID
    amount: int = strawberry.field(description="Minor units; at most what is left unrefunded")
    reason: str | None = None


@strawberry.type
class PlanPayload:
    plan: Plan | None
    errors: list[UserError]


@strawberry.type
class SubscriptionPayload:
    subscription: Subscription | None
    errors: list[UserError]


@strawberry.type
class InvoicePayload:
    invoice: Invoice | None
    errors: list[UserError]


@strawberry.type
class InvoiceSendPayload:
    message_id: strawberry.ID | None = strawberry.field(description="The queued message (see `messages`)")
    errors: list[UserError]


@strawberry.type
class PaymentPayload:
    payment: Payment | None
    errors: list[UserError]


@strawberry.type
class RefundPayload:
    refund: Refund | None
    errors: list[UserError]


@strawberry.type
class PaymentLinkPayload:
    payment_link: PaymentLink | None
    errors: list[UserError]


@strawberry.type
class BillingQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def plans(
        self, info: Info, filter: PlanFilter | None = None, order_by: PlanOrder = PlanOrder.CREATED_AT_DESC,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Plan]:
        qs = plans.plan_queryset(info.context.tenant.id, plans.PlanFilter(active=filter.active if filter else None))
        return await connection(qs, plans.SORTS[order_by.value], first, after, last, before)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def subscription(self, info: Info, id: strawberry.ID) -> Subscription | None:
        sid = gid("Subscription", id)
        return await SubscriptionRow.get_or_none(id=sid, tenant_id=info.context.tenant.id) if sid else None

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def subscriptions(
        self, info: Info, filter: SubscriptionFilter | None = None, order_by: SubscriptionOrder = SubscriptionOrder.CREATED_AT_DESC,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Subscription]:
        f = subscriptions.SubscriptionFilter()
        if filter:
            f.statuses = list(filter.status or [])
            if filter.customer_id is not None:
                f.customer_id = customer_id(filter.customer_id) or NOWHERE
            if filter.plan_id is not None:
                f.plan_id = gid("Plan", filter.plan_id) or NOWHERE
            f.renews_by = filter.renews_by
        qs = subscriptions.subscription_queryset(info.context.tenant.id, f)
        return await connection(qs, subscriptions.SORTS[order_by.value], first, after, last, before)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def invoice(self, info: Info, id: strawberry.ID) -> Invoice | None:
        iid = gid("Invoice", id)
        return await InvoiceRow.get_or_none(id=iid, tenant_id=info.context.tenant.id) if iid else None

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def invoices(
        self, info: Info, filter: InvoiceFilter | None = None, order_by: InvoiceOrder = InvoiceOrder.CREATED_AT_DESC,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Invoice]:
        tenant = info.context.tenant
        f = invoices.InvoiceFilter()
        if filter:
            f.statuses = list(filter.status or [])
            if filter.customer_id is not None:
                f.customer_id = customer_id(filter.customer_id) or NOWHERE
            if filter.subscription_id is not None:
                f.subscription_id = gid("Subscription", filter.subscription_id) or NOWHERE
            f.due_from, f.due_to = filter.due_from, filter.due_to
            if filter.overdue:
                f.overdue_on = await tenant_today(tenant.id)
        qs = invoices.invoice_queryset(tenant.id, f)
        if filter and filter.overdue is False:
            qs = qs.exclude(id__in=invoices.invoice_queryset(tenant.id, invoices.InvoiceFilter(
                overdue_on=await tenant_today(tenant.id))).values_list("id", flat=True))
        return await connection(qs, invoices.SORTS[order_by.value], first, after, last, before)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def payments(
        self, info: Info, filter: PaymentFilter | None = None, order_by: PaymentOrder = PaymentOrder.RECEIVED_AT_DESC,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Payment]:
        f = payments.PaymentFilter()
        if filter:
            if filter.invoice_id is not None:
                f.invoice_id = gid("Invoice", filter.invoice_id) or NOWHERE
            if filter.customer_id is not None:
                f.customer_id = customer_id(filter.customer_id) or NOWHERE
            f.received_from, f.received_before = filter.received_from, filter.received_before
            f.statuses = list(filter.status or [])
        qs = payments.payment_queryset(info.context.tenant.id, f)
        return await connection(qs, payments.SORTS[order_by.value], first, after, last, before)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="Figures for the dashboard; default currency: the tenant's")
    async def billing_summary(self, info: Info, currency: Currency | None = None) -> BillingSummary:
        s = await billing_summary(info.context.tenant, currency)
        return BillingSummary(currency=s.currency, dues_outstanding=s.dues_outstanding, overdue=s.overdue,
                              collected_this_month=s.collected_this_month, mrr=s.mrr, active_subscriptions=s.active_subscriptions)


def _data(input: object, *skip: str) -> dict:
    return {k: v for k, v in vars(input).items() if v is not None and k not in skip}


@strawberry.type
class BillingMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN))
    async def plan_create(self, info: Info, input: PlanCreateInput) -> PlanPayload:
        return await payload(PlanPayload, "plan", plans.create_plan(info.context.tenant, _data(input)))

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN), description="Change a plan (audited with before and after).")
    async def plan_update(self, info: Info, id: strawberry.ID, input: PlanUpdateInput) -> PlanPayload:
        return await payload(PlanPayload, "plan", plans.update_plan(info.context.tenant, gid("Plan", id), _data(input)))

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description=(
        "Move an active subscription to another plan from today: the unused days of the paid period are credited, "
        "the new plan's charged; a positive difference is invoiced at once, a negative one kept as the customer's credit."))
    async def subscription_change_plan(self, info: Info, id: strawberry.ID, plan_id: strawberry.ID) -> SubscriptionPayload:
        work = plan_changes.change_plan(info.context.tenant, gid("Subscription", id), gid("Plan", plan_id))
        return await payload(SubscriptionPayload, "subscription", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description=(
        "Start a subscription. Without a trial it is active at once and its first invoice is issued, due on the start day."))
    async def subscription_create(self, info: Info, input: SubscriptionCreateInput) -> SubscriptionPayload:
        data = _data(input, "customer_id", "plan_id")
        data["customer_id"], data["plan_id"] = customer_id(input.customer_id), gid("Plan", input.plan_id)
        return await payload(SubscriptionPayload, "subscription", subscriptions.create_subscription(info.context.tenant, data))

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description="End it now: no more renewals.")
    async def subscription_cancel(self, info: Info, id: strawberry.ID) -> SubscriptionPayload:
        work = subscriptions.cancel_subscription(info.context.tenant, gid("Subscription", id))
        return await payload(SubscriptionPayload, "subscription", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description=(
        "Pause an active subscription: status PAUSED, nothing renews or falls due until it is resumed."))
    async def subscription_pause(self, info: Info, id: strawberry.ID) -> SubscriptionPayload:
        work = subscriptions.pause_subscription(info.context.tenant, gid("Subscription", id))
        return await payload(SubscriptionPayload, "subscription", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description=(
        "Resume a paused subscription: active again, its period end and renewal moved on by the days paused."))
    async def subscription_resume(self, info: Info, id: strawberry.ID) -> SubscriptionPayload:
        work = subscriptions.resume_subscription(info.context.tenant, gid("Subscription", id))
        return await payload(SubscriptionPayload, "subscription", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description="Issue an invoice (status OPEN) with the next number.")
    async def invoice_create(self, info: Info, input: InvoiceCreateInput) -> InvoicePayload:
        data = _data(input, "customer_id", "lines")
        data["customer_id"] = customer_id(input.customer_id)
        data["lines"] = [vars(line) for line in input.lines]
        return await payload(InvoicePayload, "invoice", invoices.create_invoice(info.context.tenant, data))

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description=(
        "Void an unpaid invoice; its number stays used. Its open payment links are cancelled at the gateway first."))
    async def invoice_void(self, info: Info, id: strawberry.ID) -> InvoicePayload:
        return await payload(InvoicePayload, "invoice", voiding.void(info.context.tenant, gid("Invoice", id)))

    @strawberry.mutation(permission_classes=needs(CoreRole.VIEWER), description=(
        "Send the invoice's PDF to its customer, in their language, through the outbox: on `channel` (an id or kind) "
        "or the first of the business's channels that carries documents (email attachment, WhatsApp document). "
        "SMS cannot carry it: a `channel` error."))
    async def invoice_send(self, info: Info, id: strawberry.ID, channel: str | None = None) -> InvoiceSendPayload:
        async def work() -> strawberry.ID:
            message = await sending.send_invoice(info.context.tenant, gid("Invoice", id), channel)
            return strawberry.ID(to_global_id("Message", message.id))
        return await payload(InvoiceSendPayload, "message_id", work())

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN), description=(
        "Write off an open invoice (status UNCOLLECTIBLE): no more reminders; a payment that still comes pays it."))
    async def invoice_write_off(self, info: Info, id: strawberry.ID) -> InvoicePayload:
        return await payload(InvoicePayload, "invoice", invoices.write_off_invoice(info.context.tenant, gid("Invoice", id)))

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT),
                         description="Record a payment taken by staff (cash, UPI, bank). Partial payments are fine.")
    async def payment_record(self, info: Info, input: PaymentRecordInput) -> PaymentPayload:
        work = payments.record_payment(info.context.tenant, gid("Invoice", input.invoice_id),
                                       _data(input, "invoice_id"), user_id=info.context.principal.user_id)
        return await payload(PaymentPayload, "payment", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT),
                         description="Refund part or all of a payment (a gateway payment at its gateway). "
                                     "The invoice becomes REFUNDED: nothing more is asked of the customer.")
    async def payment_refund(self, info: Info, input: PaymentRefundInput) -> RefundPayload:
        work = gateways.refund(info.context.tenant, gid("Payment", input.payment_id), _data(input, "payment_id"),
                               user_id=info.context.principal.user_id)
        return await payload(RefundPayload, "refund", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description=(
        "The invoice's payment link at the tenant's gateway (created once; asking again returns the same link)."))
    async def payment_link_create(self, info: Info, invoice_id: strawberry.ID) -> PaymentLinkPayload:
        work = gateways.create_payment_link(info.context.tenant, gid("Invoice", invoice_id))
        return await payload(PaymentLinkPayload, "payment_link", work)
