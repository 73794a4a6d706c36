"""GraphQL the razorpay plugin contributes (``seva_graphql``): Checkout order and verification."""

from __future__ import annotations

import strawberry
from strawberry import Info

from seva_crm.plugin_api import DomainError, PaymentType, Role, UserError, from_global_id, needs, user_errors
from seva_crm.plugins.razorpay import checkout


@strawberry.type
class RazorpayOrderPayload:
    order_id: str | None = None
    amount: int | None = strawberry.field(default=None, description="Paise")
    currency: str | None = None
    key_id: str | None = strawberry.field(default=None, description="The public key id to open Checkout with")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RazorpayCheckoutVerifyPayload:
    valid: bool = strawberry.field(description="The signature is Razorpay's for this order and payment")
    payment: PaymentType | None = strawberry.field(default=None, description="The payment, recorded once, when captured")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RazorpayMutation:
    @strawberry.mutation(permission_classes=needs(Role.AGENT),
                         description="A Razorpay order for what is due on an invoice, to open Checkout with.")
    async def razorpay_order_create(self, info: Info, invoice_id: strawberry.ID) -> RazorpayOrderPayload:
        try:
            order = await checkout.create_checkout_order(info.context.tenant, from_global_id(invoice_id, "Invoice"))
        except DomainError as exc:
            return RazorpayOrderPayload(errors=user_errors(exc))
        return RazorpayOrderPayload(order_id=order.order_id, amount=order.amount, currency=order.currency, key_id=order.key_id)

    @strawberry.mutation(permission_classes=needs(Role.AGENT), description=(
        "Check what Checkout returned (razorpay_order_id, razorpay_payment_id, razorpay_signature); "
        "when valid, record the payment if not yet recorded."))
    async def razorpay_checkout_verify(self, info: Info, order_id: str, payment_id: str, signature: str) -> RazorpayCheckoutVerifyPayload:
        try:
            result = await checkout.verify_and_record(info.context.tenant, order_id, payment_id, signature)
        except DomainError as exc:
            return RazorpayCheckoutVerifyPayload(valid=True, errors=user_errors(exc))
        return RazorpayCheckoutVerifyPayload(valid=result.valid, payment=result.payment)
