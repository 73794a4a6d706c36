"""Payment gateways (plugins such as razorpay) as billing sees them: payment links and refunds.

A plugin returns adapters from the ``seva_payment_gateways`` hook; billing uses the first one of
a plugin the tenant has enabled that is configured for it (``core.platform.tenant_plugins``).
Adapters raise ``GatewayFailure`` with a message safe to show staff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID, uuid4

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from seva_crm.core.billing.invoices import amount_due, get_invoice
from seva_crm.core.billing.payments import get_payment, refund_payment, refundable
from seva_crm.core.billing.plans import check_amount
from seva_crm.core.common.enums import Currency, InvoiceStatus, RefundStatus
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.models import Customer, Invoice, Payment, PaymentLink, Refund, Subscription
from seva_crm.core.platform import disclosures
from seva_crm.core.platform.tenant_plugins import payment_gateways
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow


@dataclass(frozen=True)
class LinkRequest:
    tenant_id: UUID
    invoice_id: UUID
    reference_id: str  # the invoice number: the gateway's idempotency key
    amount: int
    currency: Currency
    description: str
    customer_name: str
    customer_phone: str | None
    customer_email: str | None


@dataclass(frozen=True)
class LinkResult:
    provider_id: str
    short_url: str
    status: str


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str
    status: RefundStatus


@dataclass(frozen=True)
class PayloadPrivacy:
    """Which parts of the webhook payloads a gateway's events store (``GatewayEvent.payload``)
    are about the payer. On erasure billing replaces them with keyed digests; it knows no
    gateway's payload format itself."""

    personal_keys: frozenset[str]  # keys whose values are about the payer, at any depth
    note_keys: frozenset[str] = frozenset()  # keys holding free-form notes (an object): each value masked
    kept_notes: frozenset[str] = frozenset()  # except these notes: our own ids, to reconcile with


class GatewayFailure(Exception):
    """The gateway refused or could not be reached; ``message`` names no secret or personal data."""


class BillingGateway(Protocol):
    name: str
    payload_privacy: PayloadPrivacy

    async def is_configured(self, tenant_id: UUID) -> bool: ...

    async def create_payment_link(self, request: LinkRequest) -> LinkResult: ...

    async def refund(self, tenant_id: UUID, provider_payment_id: str, amount: int, receipt: str) -> RefundResult: ...

    # Optional (a gateway without payment links may leave it out): cancel the hosted page so it
    # can no longer be paid; return the link's status at the gateway afterwards ("cancelled", or
    # "paid" if the customer paid first). Voiding an invoice calls it for each open link.
    # async def cancel_payment_link(self, tenant_id: UUID, provider_link_id: str) -> str: ...


def payload_privacy(provider: str) -> PayloadPrivacy | None:
    """What the gateway ``provider`` says is personal in its payloads; None if no loaded plugin
    provides it any more, or its adapter does not say. Masking stored payloads is not a use of
    the gateway, so it does not depend on the tenant still having the plugin enabled."""
    from seva_crm.core.platform.plugins import get_plugins

    gateways = [gateway for _, gateway in get_plugins().provided("seva_payment_gateways")]
    return next((getattr(g, "payload_privacy", None) for g in gateways if g.name == provider), None)


async def gateway_for(tenant_id: UUID, name: str | None = None) -> BillingGateway:
    for offer in await payment_gateways(tenant_id):
        gateway: BillingGateway = offer.adapter
        if (name is None or gateway.name == name) and await gateway.is_configured(tenant_id):
            return gateway
    message = f"the {name} payment gateway is not set up for this tenant" if name else "no payment gateway is set up for this tenant"
    raise DomainError.of(None, ErrorCode.INVALID, message)


async def create_payment_link(tenant: TenantScope, invoice_id: UUID | None) -> PaymentLink:
    """The invoice's payment link, created at the gateway once: a second call returns the same
    link (the invoice number is the gateway's reference id)."""
    invoice = await get_invoice(tenant.id, invoice_id, "invoiceId")
    existing = await PaymentLink.filter(tenant_id=tenant.id, invoice_id=invoice.id).order_by("created_at").first()
    if existing is not None:
        return existing
    due = amount_due(invoice)
    if due <= 0:
        raise DomainError.of("invoiceId", ErrorCode.INVALID, f"invoice is {invoice.status.value} with nothing due")
    gateway = await gateway_for(tenant.id)
    customer = await Customer.get(id=invoice.customer_id, tenant_id=tenant.id)
    request = LinkRequest(
        tenant_id=tenant.id, invoice_id=invoice.id, reference_id=invoice.number, amount=due, currency=invoice.currency,
        description=f"Invoice {invoice.number}", customer_name=customer.name, customer_phone=customer.phone,
        customer_email=customer.email,
    )
    result = await _call(gateway.create_payment_link(request))
    try:
        link = await PaymentLink.create(
            tenant_id=tenant.id, invoice_id=invoice.id, provider=gateway.name, provider_id=result.provider_id,
            reference_id=invoice.number, status=result.status, short_url=result.short_url, amount=due,
            currency=invoice.currency,
        )
    except IntegrityError:  # a concurrent call saved it first (the gateway returned the same link)
        return await PaymentLink.get(tenant_id=tenant.id, provider=gateway.name, reference_id=invoice.number)
    shared = ["name", "amount due"] + (["phone"] if customer.phone else []) + (["email"] if customer.email else [])
    await disclosures.record(tenant.id, customer.id, gateway.name, shared, subject_type="payment_link",
                             subject_id=link.id, purpose="payment")
    return link


async def refund(tenant: TenantScope, payment_id: UUID | None, data: dict[str, Any], *, user_id: UUID | None = None) -> Refund:
    """Refund a payment: a gateway payment is refunded at its gateway first, then recorded.
    ``user_id``: the member of staff who made it (None: the system)."""
    payment = await get_payment(tenant.id, payment_id, "paymentId")
    if payment.provider is None:
        return await refund_payment(tenant, payment.id, data, user_id=user_id)
    amount = check_amount(data.get("amount"), "amount", positive=True)
    if amount > refundable(payment):
        raise DomainError.of("amount", ErrorCode.INVALID, f"more than the {refundable(payment)} minor units left to refund")
    gateway = await gateway_for(tenant.id, payment.provider)
    refund_id = uuid4()  # also the gateway receipt: a retried refund is found, not repeated
    result = await _call(gateway.refund(tenant.id, payment.provider_payment_id, amount, refund_id.hex))
    try:
        return await refund_payment(tenant, payment.id, data, provider_refund_id=result.provider_refund_id,
                                    status=result.status, refund_id=refund_id, user_id=user_id)
    except IntegrityError:  # the gateway's refund webhook recorded it first
        return await Refund.get(provider_refund_id=result.provider_refund_id, tenant_id=tenant.id)


async def _call(work):
    try:
        return await work
    except GatewayFailure as exc:
        raise DomainError.of(None, ErrorCode.GATEWAY_ERROR, str(exc)) from None



# --- what a gateway plugin's webhooks and checkout look up ----------------------------------------


@dataclass(frozen=True)
class InvoiceRef:
    """An invoice as a gateway plugin needs it: what to charge, and what to record against."""

    id: UUID
    number: str  # also the gateway's reference id / receipt
    currency: Currency
    amount_due: int  # minor units; 0 unless the invoice is payable


def _ref(invoice: Invoice) -> InvoiceRef:
    return InvoiceRef(invoice.id, invoice.number, invoice.currency, amount_due(invoice))


async def invoice_ref(tenant_id: UUID, invoice_id: UUID | None, field: str = "invoiceId") -> InvoiceRef:
    """The tenant's invoice; a not-found DomainError on ``field`` otherwise."""
    return _ref(await get_invoice(tenant_id, invoice_id, field))


async def find_invoice(tenant_id: UUID, *, invoice_id: str | UUID | None = None, number: str | None = None) -> InvoiceRef | None:
    """The tenant's invoice by our id (as the gateway echoes it back in notes), else by number."""
    found = None
    if invoice_id:
        try:
            found = await Invoice.get_or_none(id=UUID(str(invoice_id)), tenant_id=tenant_id)
        except ValueError:
            found = None
    if found is None and number:
        found = await Invoice.get_or_none(tenant_id=tenant_id, number=number)
    return _ref(found) if found else None


async def payment_request(tenant_id: UUID, invoice_id: UUID | None) -> LinkRequest | None:
    """What a checkout started now for the invoice asks for (what is due now, and the payer's
    name, phone and email, as a payment link's creation gets them); None unless something is due."""
    invoice = await Invoice.get_or_none(id=invoice_id, tenant_id=tenant_id) if invoice_id else None
    if invoice is None or amount_due(invoice) <= 0:
        return None
    customer = await Customer.get(id=invoice.customer_id, tenant_id=tenant_id)
    return LinkRequest(
        tenant_id=tenant_id, invoice_id=invoice.id, reference_id=invoice.number, amount=amount_due(invoice),
        currency=invoice.currency, description=f"Invoice {invoice.number}", customer_name=customer.name,
        customer_phone=customer.phone, customer_email=customer.email,
    )


async def subscription_invoice(tenant_id: UUID, gateway: str, gateway_subscription_id: str) -> InvoiceRef | None:
    """The oldest open invoice of the subscription the gateway charges (an auto-debit charge pays it)."""
    sub = await Subscription.get_or_none(tenant_id=tenant_id, gateway=gateway, gateway_subscription_id=gateway_subscription_id)
    if sub is None:
        return None
    found = await Invoice.filter(tenant_id=tenant_id, subscription_id=sub.id, status=InvoiceStatus.OPEN).order_by("due_on").first()
    return _ref(found) if found else None


async def gateway_payment(tenant_id: UUID, provider_payment_id: str) -> Payment | None:
    """The tenant's payment recorded for the gateway's payment id, if any."""
    return await Payment.get_or_none(provider_payment_id=provider_payment_id, tenant_id=tenant_id)


async def advance_payment_link(tenant_id: UUID, gateway: str, provider_link_id: str, status: str,
                               order: dict[str, int]) -> bool:
    """Move the tenant's payment link to ``status`` only forward in the gateway's ``order`` of
    statuses (events repeat and arrive out of order): one guarded update. Returns whether it moved."""
    if status not in order or not provider_link_id:
        return False
    earlier = [s for s, rank in order.items() if rank < order[status]]
    guard = Q(status__in=earlier) | ~Q(status__in=list(order))
    return await PaymentLink.filter(guard, tenant_id=tenant_id, provider=gateway, provider_id=provider_link_id).update(
        status=status, updated_at=utcnow()) == 1


@dataclass(frozen=True)
class PendingRefund:
    """A gateway refund still pending: for a plugin whose provider must be polled for the outcome."""

    tenant_id: UUID
    provider_payment_id: str
    provider_refund_id: str
    amount: int


async def pending_refunds(gateway: str, limit: int = 500) -> list[PendingRefund]:
    """Every tenant's pending refunds of ``gateway``'s payments, oldest first."""
    rows = await Refund.filter(status=RefundStatus.PENDING, provider_refund_id__isnull=False, payment__provider=gateway
                               ).order_by("created_at").limit(limit).values(
        "tenant_id", "provider_refund_id", "amount", "payment__provider_payment_id")
    return [PendingRefund(r["tenant_id"], r["payment__provider_payment_id"], r["provider_refund_id"], r["amount"]) for r in rows]
