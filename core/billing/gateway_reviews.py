"""Gateway payments checked against their invoice before they are recorded, and held for staff
when they do not fit.

A gateway plugin hands what its provider reported (after verifying it with the provider) to
``settle``. A payment in the invoice's currency for exactly what the invoice has due is recorded
(once per gateway payment id, ``core.billing.payments``). Anything else is held as a
``GatewayReview`` with an audit entry, and never recorded on the invoice by itself:

- an amount or a currency that does not match the invoice;
- a payment for an invoice with nothing left to pay (a late notification after the invoice was
  paid by other means): an overpayment, never a second payment on the invoice;
- a payment the gateway marked risky (``hold``).

The check and the record happen under the invoice's lock, so a payment recorded meanwhile is seen.
Repeats find the payment or the review already there. Staff resolve a review (``resolve``): accept
it (recorded on the invoice as taken), refund it through its gateway, or dismiss it (settled
outside Seva); each with an audit entry naming them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from seva_crm.core.billing.gateways import _call, gateway_for
from seva_crm.core.billing.invoices import amount_due, lock_invoice
from seva_crm.core.billing.payments import GatewayPayment, record_gateway_payment
from seva_crm.core.common.enums import GatewayReviewKind, GatewayReviewResolution, RefundStatus
from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow
from seva_crm.core.models import GatewayReview, Payment
from seva_crm.core.platform import audit
from seva_crm.core.storage.transactions import transaction

MAX_LIST = 100


@dataclass(frozen=True)
class Settlement:
    """What ``settle`` did: the payment recorded, or the review holding it; ``changed`` is False
    for a repeat."""

    payment: Any | None
    review: GatewayReview | None
    changed: bool

    @property
    def outcome(self) -> str:
        if self.payment is not None:
            return f"payment {self.payment.provider_payment_id} recorded" + ("" if self.changed else " (already recorded)")
        review = self.review
        return f"payment {review.provider_payment_id} held for review: {review.kind.value}" + ("" if self.changed else " (already held)")


async def settle(tenant_id: UUID, invoice_id: UUID, gp: GatewayPayment, currency: str, *, hold: str = "") -> Settlement:
    """Record a captured gateway payment of ``gp.amount`` minor units in ``currency`` on the
    invoice if it fits exactly, else hold it for review (``hold``: the gateway's reason to hold it)."""
    known = await Payment.get_or_none(tenant_id=tenant_id, provider_payment_id=gp.provider_payment_id)
    if known is not None:
        return Settlement(known, None, False)
    held = await GatewayReview.get_or_none(tenant_id=tenant_id, provider=gp.provider, provider_payment_id=gp.provider_payment_id)
    if held is not None:
        return Settlement(None, held, False)
    try:
        async with transaction():
            invoice = await lock_invoice(None, tenant_id, invoice_id, "invoiceId")
            due = amount_due(invoice)
            kind, why = _misfit(invoice.currency.value, due, gp.amount, currency, hold)
            if kind is None:
                payment, changed = await record_gateway_payment(tenant_id, invoice.id, gp)
                return Settlement(payment, None, changed)
            review = await GatewayReview.create(
                tenant_id=tenant_id, provider=gp.provider, provider_payment_id=gp.provider_payment_id, invoice_id=invoice.id,
                kind=kind, amount=gp.amount, currency=currency[:3], expected_amount=due, received_at=gp.received_at,
                method_detail=gp.method_detail[:100], detail=why[:200])
            await audit.record(tenant_id, "billing.gateway_payment_held", subject_type="invoice", subject_id=invoice.id,
                               details={"provider": gp.provider, "provider_payment_id": gp.provider_payment_id,
                                        "kind": kind.value, "amount": gp.amount, "currency": currency[:3], "due": due,
                                        "review_id": str(review.id)})
    except IntegrityError:  # another delivery of the same payment won the race
        held = await GatewayReview.get_or_none(tenant_id=tenant_id, provider=gp.provider, provider_payment_id=gp.provider_payment_id)
        known = await Payment.get_or_none(tenant_id=tenant_id, provider_payment_id=gp.provider_payment_id)
        if held is None and known is None:
            raise
        return Settlement(known, held, False)
    return Settlement(None, review, True)


def _misfit(invoice_currency: str, due: int, amount: int, currency: str, hold: str) -> tuple[GatewayReviewKind | None, str]:
    if currency != invoice_currency:
        return GatewayReviewKind.CURRENCY_MISMATCH, f"paid in {currency[:3]!r}, the invoice is in {invoice_currency}"
    if due == 0:
        return GatewayReviewKind.OVERPAYMENT, "the invoice had nothing left to pay"
    if amount != due:
        return GatewayReviewKind.AMOUNT_MISMATCH, f"paid {amount}, {due} was due"
    if hold:
        return GatewayReviewKind.RISK_HOLD, hold
    return None, ""


async def find(tenant_id: UUID, provider: str, provider_payment_id: str) -> GatewayReview | None:
    return await GatewayReview.get_or_none(tenant_id=tenant_id, provider=provider, provider_payment_id=provider_payment_id)


async def list_reviews(tenant_id: UUID, *, resolved: bool | None = False) -> list[GatewayReview]:
    """The tenant's reviews, newest first (open ones by default)."""
    qs = GatewayReview.filter(tenant_id=tenant_id)
    if resolved is not None:
        qs = qs.filter(resolved_at__isnull=not resolved)
    return await qs.order_by("-created_at").limit(MAX_LIST)


async def get_review(tenant_id: UUID, review_id: UUID | None, field: str = "id") -> GatewayReview:
    review = await GatewayReview.get_or_none(id=review_id, tenant_id=tenant_id) if review_id else None
    if review is None:
        raise NotFound("gateway review", field)
    return review


async def resolve(tenant: TenantScope, review_id: UUID | None, resolution: GatewayReviewResolution, *,
                  user_id: UUID | None = None) -> GatewayReview:
    """Resolve an open review. ACCEPTED records the payment on its invoice as taken (only a
    payment in the invoice's currency, on an invoice that still has something due); REFUNDED
    gives the whole amount back through the gateway first; DISMISSED only notes it."""
    review = await get_review(tenant.id, review_id)
    if review.resolved_at is not None:
        raise DomainError.of("id", ErrorCode.INVALID, f"already {review.resolution.value}")
    refund_id = None
    if resolution is GatewayReviewResolution.ACCEPTED:
        if review.kind in (GatewayReviewKind.CURRENCY_MISMATCH, GatewayReviewKind.OVERPAYMENT) or review.invoice_id is None:
            raise DomainError.of("resolution", ErrorCode.INVALID, f"a payment held for {review.kind.value} cannot be recorded "
                                 "on its invoice: refund or dismiss it")
    elif resolution is GatewayReviewResolution.REFUNDED:
        refund_id = await _refund(tenant, review, user_id)
    async with transaction():
        review = await GatewayReview.select_for_update().get(id=review.id)
        if review.resolved_at is not None and refund_id is None:
            raise DomainError.of("id", ErrorCode.INVALID, f"already {review.resolution.value}")
        if resolution is GatewayReviewResolution.ACCEPTED:
            invoice = await lock_invoice(None, tenant.id, review.invoice_id, "id")
            if amount_due(invoice) <= 0:
                raise DomainError.of("resolution", ErrorCode.INVALID, "the invoice has nothing left to pay: refund or dismiss it")
            gp = GatewayPayment(review.provider, review.provider_payment_id, review.amount, True, review.received_at,
                                review.method_detail)
            await record_gateway_payment(tenant.id, invoice.id, gp)
        review.resolution, review.resolved_at, review.resolved_by_id = resolution, utcnow(), user_id
        review.provider_refund_id = refund_id
        await review.save(update_fields=["resolution", "resolved_at", "resolved_by_id", "provider_refund_id", "updated_at"])
        await audit.record(tenant.id, "billing.gateway_review_resolved", subject_type="gateway_review", subject_id=review.id,
                           changed=["resolution"], details={"resolution": resolution.value, "kind": review.kind.value,
                                                            "provider": review.provider, "amount": review.amount,
                                                            "provider_refund_id": refund_id})
    return review


async def _refund(tenant: TenantScope, review: GatewayReview, user_id: UUID | None) -> str:
    """Refund the held payment at its gateway, once: the review is claimed first (a guarded
    update), so two staff pressing at once cannot both send it; a refusal releases the claim."""
    gateway = await gateway_for(tenant.id, review.provider)
    claimed = await GatewayReview.filter(id=review.id, resolved_at__isnull=True).update(
        resolution=GatewayReviewResolution.REFUNDED, resolved_at=utcnow(), resolved_by_id=user_id, updated_at=utcnow())
    if not claimed:
        raise DomainError.of("id", ErrorCode.INVALID, "already resolved")
    try:
        result = await _call(gateway.refund(tenant.id, review.provider_payment_id, review.amount, review.id.hex))
        if result.status is RefundStatus.FAILED:
            raise DomainError.of(None, ErrorCode.GATEWAY_ERROR, f"{review.provider} refused the refund")
    except BaseException:
        await GatewayReview.filter(id=review.id).update(resolution=None, resolved_at=None, resolved_by_id=None, updated_at=utcnow())
        raise
    return result.provider_refund_id
