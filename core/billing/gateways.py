"""Payment gateways (plugins such as razorpay) as billing sees them: payment links and refunds.

A plugin returns adapters from the ``seva_payment_gateways`` hook; billing uses the first one of
a plugin the tenant has enabled that is configured for it (``core.platform.tenant_plugins``). Adapters raise ``GatewayFailure`` with a message safe to show staff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID, uuid4

from tortoise.exceptions import IntegrityError

from seva_crm.core.billing.invoices import amount_due, get_invoice
from seva_crm.core.billing.payments import get_payment, refund_payment, refundable
from seva_crm.core.billing.plans import check_amount
from seva_crm.core.common.enums import Currency, RefundStatus
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.models import Customer, PaymentLink, Refund
from seva_crm.core.platform.tenant_plugins import payment_gateways
from seva_crm.core.common.principal import TenantScope


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
        return await PaymentLink.create(
            tenant_id=tenant.id, invoice_id=invoice.id, provider=gateway.name, provider_id=result.provider_id,
            reference_id=invoice.number, status=result.status, short_url=result.short_url, amount=due,
            currency=invoice.currency,
        )
    except IntegrityError:  # a concurrent call saved it first (the gateway returned the same link)
        return await PaymentLink.get(tenant_id=tenant.id, provider=gateway.name, reference_id=invoice.number)


async def refund(tenant: TenantScope, payment_id: UUID | None, data: dict[str, Any]) -> Refund:
    """Refund a payment: a gateway payment is refunded at its gateway first, then recorded."""
    payment = await get_payment(tenant.id, payment_id, "paymentId")
    if payment.provider is None:
        return await refund_payment(tenant, payment.id, data)
    amount = check_amount(data.get("amount"), "amount", positive=True)
    if amount > refundable(payment):
        raise DomainError.of("amount", ErrorCode.INVALID, f"more than the {refundable(payment)} minor units left to refund")
    gateway = await gateway_for(tenant.id, payment.provider)
    refund_id = uuid4()  # also the gateway receipt: a retried refund is found, not repeated
    result = await _call(gateway.refund(tenant.id, payment.provider_payment_id, amount, refund_id.hex))
    try:
        return await refund_payment(tenant, payment.id, data, provider_refund_id=result.provider_refund_id,
                                    status=result.status, refund_id=refund_id)
    except IntegrityError:  # the gateway's refund webhook recorded it first
        return await Refund.get(provider_refund_id=result.provider_refund_id, tenant_id=tenant.id)


async def _call(work):
    try:
        return await work
    except GatewayFailure as exc:
        raise DomainError.of(None, ErrorCode.GATEWAY_ERROR, str(exc)) from None

