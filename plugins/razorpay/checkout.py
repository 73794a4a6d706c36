"""Razorpay Checkout for an invoice: create the order, then verify what Checkout hands back.

The order's ``receipt`` is the invoice number. Verification checks the signature
HMAC(key_secret, "order_id|payment_id") in constant time; only when it is valid is Razorpay
asked for the payment (it must belong to that order and be captured), and the payment recorded
once (the webhook may already have done it)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from typing import Any

from seva_crm.plugin_api import (
    DomainError,
    ErrorCode,
    GatewayFailure,
    GatewayPayment,
    TenantScope,
    find_invoice,
    gateway_payment,
    invoice_ref,
    record_gateway_payment,
)
from seva_crm.plugins.razorpay.client import RazorpayClient
from seva_crm.plugins.razorpay.config import razorpay_config
from seva_crm.plugins.razorpay.adapter import _guard
from seva_crm.plugins.razorpay.signatures import verify_checkout
from seva_crm.plugins.razorpay.webhooks import PROVIDER, _when


@dataclass(frozen=True)
class CheckoutOrder:
    order_id: str
    amount: int
    currency: str
    key_id: str  # public: the frontend opens Checkout with it


@dataclass(frozen=True)
class Verification:
    valid: bool
    payment: Any = None  # the recorded payment (for PaymentType)


async def _config(tenant_id: UUID):
    config = await razorpay_config(tenant_id)
    if config is None:
        raise DomainError.of(None, ErrorCode.INVALID, "Razorpay is not set up for this tenant")
    return config


async def create_checkout_order(tenant: TenantScope, invoice_id: UUID | None) -> CheckoutOrder:
    invoice = await invoice_ref(tenant.id, invoice_id, "invoiceId")
    due = invoice.amount_due
    if due <= 0 or invoice.currency.value != "INR":
        raise DomainError.of("invoiceId", ErrorCode.INVALID, "nothing due in INR on this invoice")
    config = await _config(tenant.id)
    try:
        async with RazorpayClient(config) as client:
            order = await _guard(client.create_order(due, "INR", invoice.number, {"seva_invoice": str(invoice.id)}))
    except GatewayFailure as exc:
        raise DomainError.of(None, ErrorCode.GATEWAY_ERROR, str(exc)) from None
    return CheckoutOrder(order["id"], order["amount"], order["currency"], config.key_id)


async def verify_and_record(tenant: TenantScope, order_id: str, payment_id: str, signature: str) -> Verification:
    config = await razorpay_config(tenant.id)
    if config is None or not verify_checkout(order_id, payment_id, signature, config.key_secret.get_secret_value()):
        return Verification(valid=False)
    known = await gateway_payment(tenant.id, payment_id)
    if known is not None:
        return Verification(valid=True, payment=known)
    try:
        async with RazorpayClient(config) as client:
            payment = await _guard(client.fetch_payment(payment_id))
            order = await _guard(client.fetch_order(order_id))
    except GatewayFailure as exc:
        raise DomainError.of(None, ErrorCode.GATEWAY_ERROR, str(exc)) from None
    if payment.get("order_id") != order_id or payment.get("status") != "captured":
        return Verification(valid=True)  # genuine, but not a captured payment of this order (yet): the webhook will say
    invoice = await find_invoice(tenant.id, number=order.get("receipt")) if order.get("receipt") else None
    if invoice is None:
        return Verification(valid=True)
    gp = GatewayPayment(PROVIDER, payment_id, payment["amount"], True, _when(payment.get("created_at")), str(payment.get("method") or ""))
    recorded, _ = await record_gateway_payment(tenant.id, invoice.id, gp)
    return Verification(valid=True, payment=recorded)
