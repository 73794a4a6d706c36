"""Payments and refunds. An invoice is paid when its captured payments, net of refunds, cover
its total; a refund that takes it below reopens it.

Each change locks the invoice row (SELECT ... FOR UPDATE) in its transaction, so concurrent
payments and refunds on one invoice add up correctly. A gateway's payment id is a unique column:
the same gateway payment is recorded once, however many webhooks report it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet

from seva_crm.core.billing import events
from seva_crm.core.billing.invoices import PAYABLE, amount_due, lock_invoice, settle
from seva_crm.core.billing.plans import check_amount
from seva_crm.core.billing.subscriptions import reactivate_after_payment
from seva_crm.core.common.enums import InvoiceStatus, PaymentMethod, PaymentStatus, RefundStatus
from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.models import Credit, Invoice, Payment, Refund
from seva_crm.core.platform import audit
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.storage.transactions import transaction
from seva_crm.core.common.paging import SortKey, datetime_key
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow

SORTS: dict[str, SortKey] = {
    "RECEIVED_AT_DESC": datetime_key("received_at", True),
    "CREATED_AT_DESC": datetime_key("created_at", True),
}
MANUAL_METHODS = (PaymentMethod.CASH, PaymentMethod.UPI, PaymentMethod.BANK, PaymentMethod.CARD, PaymentMethod.OTHER)


async def record_payment(tenant: TenantScope, invoice_id: UUID | None, data: dict[str, Any], *, user_id: UUID | None = None) -> Payment:
    """A payment taken by staff (cash, UPI reference, bank transfer). Partial payments are
    fine; more than the amount due is refused."""
    amount = check_amount(data.get("amount"), "amount", positive=True)
    method = PaymentMethod(data.get("method") or PaymentMethod.CASH)
    if method not in MANUAL_METHODS:
        raise DomainError.of("method", ErrorCode.INVALID, "gateway payments are recorded by their gateway")
    reference = (data.get("reference") or "").strip()
    if len(reference) > 100:
        raise DomainError.of("reference", ErrorCode.INVALID, "at most 100 characters")
    now = utcnow()
    received_at = data.get("received_at") or now
    if received_at > now:
        raise DomainError.of("receivedAt", ErrorCode.INVALID, "cannot be in the future")
    async with transaction() as conn:
        invoice = await lock_invoice(conn, tenant.id, invoice_id, "invoiceId")
        if invoice.status not in PAYABLE:
            raise DomainError.of("invoiceId", ErrorCode.INVALID, f"invoice is {invoice.status.value}: nothing to pay")
        if amount > amount_due(invoice):
            raise DomainError.of("amount", ErrorCode.INVALID, f"more than the {amount_due(invoice)} minor units due")
        payment = await Payment.create(
            using_db=conn, tenant_id=tenant.id, invoice_id=invoice.id, customer_id=invoice.customer_id, amount=amount,
            currency=invoice.currency, method=method, reference=reference, received_at=received_at, recorded_by_id=user_id,
        )
        change_feed.record(tenant.id, ChangeType.PAYMENT, payment.id, Op.CREATED)
        paid_now = await _apply(conn, invoice, amount, now)
        await _audit_payment(payment, invoice)
        await _emit_recorded(invoice, payment, paid_now)
    await _reactivate(invoice, paid_now, now)
    return payment


async def _audit_payment(payment: Payment, invoice: Invoice, **extra: Any) -> None:
    await audit.record(payment.tenant_id, "payment.recorded", subject_type="payment", subject_id=payment.id,
                       details={"invoice": str(invoice.id), "number": invoice.number, "amount": payment.amount,
                                "currency": payment.currency.value, "method": payment.method.value,
                                "provider": payment.provider or "", "invoice_status": invoice.status.value, **extra})


@dataclass(frozen=True)
class GatewayPayment:
    provider: str
    provider_payment_id: str
    amount: int
    captured: bool  # False: a failed attempt, recorded for the record but counting for nothing
    received_at: datetime
    method_detail: str = ""  # upi, card, netbanking (no personal data)


async def record_gateway_payment(tenant_id: UUID, invoice_id: UUID, gp: GatewayPayment) -> tuple[Payment, bool]:
    """Record what a gateway reports, once per gateway payment id; returns (payment, changed).
    A failed attempt that is later captured is updated; a captured payment never moves back.
    A captured amount is recorded even if it overpays (the money was taken). A payment captured
    for a void invoice (its link was paid before the cancellation reached the gateway) pays
    nothing: it becomes the customer's credit, staff are alerted, and with the billing setting
    ``late_payment_action`` = refund it is refunded at the gateway (``core.billing.late_payments``)."""
    now = utcnow()
    status = PaymentStatus.CAPTURED if gp.captured else PaymentStatus.FAILED
    existing = await Payment.get_or_none(tenant_id=tenant_id, provider_payment_id=gp.provider_payment_id)
    if existing is not None and (existing.status is PaymentStatus.CAPTURED or not gp.captured):
        return existing, False
    try:
        async with transaction() as conn:
            invoice = await lock_invoice(conn, tenant_id, invoice_id, "invoiceId")
            if existing is not None:  # failed -> captured
                payment = await Payment.select_for_update().using_db(conn).get(id=existing.id)
                if payment.status is PaymentStatus.CAPTURED:
                    return payment, False
                payment.status, payment.amount, payment.received_at = status, gp.amount, gp.received_at
                await payment.save(using_db=conn, update_fields=["status", "amount", "received_at", "updated_at"])
                change_feed.record(tenant_id, ChangeType.PAYMENT, payment.id, Op.UPDATED)
            else:
                payment = await Payment.create(
                    using_db=conn, tenant_id=tenant_id, invoice_id=invoice.id, customer_id=invoice.customer_id,
                    amount=gp.amount, currency=invoice.currency, method=PaymentMethod.GATEWAY, status=status,
                    reference=gp.method_detail[:100], provider=gp.provider, provider_payment_id=gp.provider_payment_id,
                    received_at=gp.received_at,
                )
                change_feed.record(tenant_id, ChangeType.PAYMENT, payment.id, Op.CREATED)
            late = gp.captured and invoice.status is InvoiceStatus.VOID
            paid_now = await _apply(conn, invoice, gp.amount, now) if gp.captured and not late else False
            if late:
                await Credit.create(using_db=conn, tenant_id=tenant_id, customer_id=invoice.customer_id, payment_id=payment.id,
                                    amount=gp.amount, currency=invoice.currency, reason=f"paid for void invoice {invoice.number}")
            if gp.captured:
                await _audit_payment(payment, invoice, credited=late)
            if gp.captured and not late:
                await _emit_recorded(invoice, payment, paid_now)
    except IntegrityError:  # another delivery of the same payment won the race
        return await Payment.get(tenant_id=tenant_id, provider_payment_id=gp.provider_payment_id), False
    if late:
        from seva_crm.core.billing.voiding import payment_for_void_invoice  # it imports this module

        await payment_for_void_invoice(invoice, payment)
    elif gp.captured:
        await _reactivate(invoice, paid_now, now)
    return payment, True


async def _apply(conn, invoice: Invoice, delta: int, now: datetime) -> bool:
    invoice.amount_paid += delta
    paid_now = settle(invoice, now, refunded=delta < 0)
    await invoice.save(using_db=conn, update_fields=["amount_paid", "status", "paid_at", "updated_at"])
    change_feed.record(invoice.tenant_id, ChangeType.INVOICE, invoice.id, Op.UPDATED)
    return paid_now


async def _emit_recorded(invoice: Invoice, payment: Payment, paid_now: bool) -> None:
    """payment.recorded (and invoice.paid), inside the payment's transaction: their webhook
    deliveries commit with the payment, or neither does."""
    await events.emit(events.PAYMENT_RECORDED, invoice.tenant_id, payment.id, invoice_id=str(invoice.id), amount=payment.amount)
    if paid_now:
        await events.emit(events.INVOICE_PAID, invoice.tenant_id, invoice.id)


async def _reactivate(invoice: Invoice, paid_now: bool, now: datetime) -> None:
    """After the payment committed: a subscription suspended for this invoice comes back (its
    own transaction and events)."""
    if paid_now and invoice.subscription_id:
        await reactivate_after_payment(invoice.tenant_id, invoice.subscription_id, now)


async def refund_payment(tenant: TenantScope, payment_id: UUID | None, data: dict[str, Any], *,
                         provider_refund_id: str | None = None, status: RefundStatus = RefundStatus.PROCESSED,
                         refund_id: UUID | None = None, user_id: UUID | None = None) -> Refund:
    """A refund of part or all of a captured payment; never more than is left unrefunded.
    ``user_id`` is the member of staff who made it. The invoice becomes refunded (nothing is
    asked for any more). For a gateway payment the caller (core.billing.gateways) has the
    gateway refund first."""
    amount = check_amount(data.get("amount"), "amount", positive=True)
    reason = (data.get("reason") or "").strip()[:300]
    return await _refund(tenant.id, payment_id, amount, reason, provider_refund_id, status, refund_id, user_id)


def refundable(payment: Payment) -> int:
    return payment.amount - payment.refunded_amount if payment.status is PaymentStatus.CAPTURED else 0


async def _refund(tenant_id: UUID, payment_id: UUID | None, amount: int, reason: str,
                  provider_refund_id: str | None, status: RefundStatus, refund_id: UUID | None = None,
                  user_id: UUID | None = None) -> Refund:
    now = utcnow()
    payment = await get_payment(tenant_id, payment_id, "paymentId")
    async with transaction() as conn:
        invoice = await lock_invoice(conn, tenant_id, payment.invoice_id, "paymentId")
        payment = await Payment.select_for_update().using_db(conn).get(id=payment.id)
        if payment.status is not PaymentStatus.CAPTURED:
            raise DomainError.of("paymentId", ErrorCode.INVALID, "only a captured payment can be refunded")
        counts = status is not RefundStatus.FAILED
        if counts and amount > payment.amount - payment.refunded_amount:
            raise DomainError.of("amount", ErrorCode.INVALID,
                                 f"more than the {payment.amount - payment.refunded_amount} minor units left to refund")
        refund = await Refund.create(using_db=conn, id=refund_id or uuid4(), tenant_id=tenant_id, payment_id=payment.id, amount=amount,
                                     status=status, reason=reason, provider_refund_id=provider_refund_id, refunded_by_id=user_id)
        if counts:
            payment.refunded_amount += amount
            await payment.save(using_db=conn, update_fields=["refunded_amount", "updated_at"])
            change_feed.record(tenant_id, ChangeType.PAYMENT, payment.id, Op.UPDATED)
            await _take_back(conn, invoice, payment, -amount, now)
        await audit.record(tenant_id, "payment.refunded", subject_type="payment", subject_id=payment.id,
                           details={"refund": str(refund.id), "invoice": str(invoice.id), "amount": amount,
                                    "currency": payment.currency.value, "status": status.value,
                                    "provider": payment.provider or "", "invoice_status": invoice.status.value})
        await events.emit(events.PAYMENT_REFUNDED, tenant_id, payment.id, refund_id=str(refund.id), amount=amount,
                          status=status.value)
    return refund


async def update_gateway_refund(tenant_id: UUID, provider_payment_id: str, provider_refund_id: str, amount: int,
                                status: RefundStatus) -> tuple[Refund | None, str]:
    """Apply a gateway's refund report (created, processed, failed), in any order and any
    number of times. Returns (refund, outcome); refund None when its payment is not known yet."""
    refund = await Refund.get_or_none(provider_refund_id=provider_refund_id, tenant_id=tenant_id)
    if refund is None:
        payment = await Payment.get_or_none(provider_payment_id=provider_payment_id, tenant_id=tenant_id)
        if payment is None:
            return None, "payment not recorded yet"
        try:
            return await _refund(tenant_id, payment.id, amount, "", provider_refund_id, status), "refund recorded"
        except IntegrityError:
            refund = await Refund.get(tenant_id=tenant_id, provider_refund_id=provider_refund_id)
    if refund.status is status or refund.status is not RefundStatus.PENDING:
        return refund, "no change"  # processed and failed are final
    invoice_id = (await Payment.get(id=refund.payment_id).only("id", "invoice_id")).invoice_id
    async with transaction() as conn:  # lock order everywhere: invoice, payment, refund
        invoice = await lock_invoice(conn, tenant_id, invoice_id)
        payment = await Payment.select_for_update().using_db(conn).get(id=refund.payment_id)
        refund = await Refund.select_for_update().using_db(conn).get(id=refund.id)
        if refund.status is not RefundStatus.PENDING:
            return refund, "no change"
        refund.status = status
        await refund.save(using_db=conn, update_fields=["status", "updated_at"])
        if status is RefundStatus.FAILED:  # the money stayed with us after all
            payment.refunded_amount -= refund.amount
            await payment.save(using_db=conn, update_fields=["refunded_amount", "updated_at"])
            change_feed.record(tenant_id, ChangeType.PAYMENT, payment.id, Op.UPDATED)
            await _take_back(conn, invoice, payment, refund.amount, utcnow())
        await audit.record(tenant_id, "refund.updated", subject_type="payment", subject_id=payment.id,
                           details={"refund": str(refund.id), "status": status.value, "provider": payment.provider or ""})
    return refund, f"refund {status.value}"


async def _take_back(conn, invoice: Invoice, payment: Payment, delta: int, now: datetime) -> None:
    """A refund (negative ``delta``) or a failed refund's return: on the invoice, or on the
    customer's credit when the payment came for a void invoice (it never paid the invoice)."""
    if invoice.status is InvoiceStatus.VOID:
        credit = await Credit.select_for_update().using_db(conn).get_or_none(tenant_id=invoice.tenant_id, payment_id=payment.id)
        if credit is not None:
            credit.amount += delta
            await credit.save(using_db=conn, update_fields=["amount", "updated_at"])
        return
    await _apply(conn, invoice, delta, now)


async def get_payment(tenant_id: UUID, payment_id: UUID | None, field: str = "id") -> Payment:
    payment = await Payment.get_or_none(id=payment_id, tenant_id=tenant_id) if payment_id else None
    if payment is None:
        raise NotFound("payment", field)
    return payment


@dataclass
class PaymentFilter:
    invoice_id: UUID | None = None
    customer_id: UUID | None = None
    received_from: datetime | None = None
    received_before: datetime | None = None
    statuses: list[PaymentStatus] | None = None


def payment_queryset(tenant_id: UUID, f: PaymentFilter) -> QuerySet[Payment]:
    qs = Payment.filter(tenant_id=tenant_id)
    if f.invoice_id:
        qs = qs.filter(invoice_id=f.invoice_id)
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    if f.received_from:
        qs = qs.filter(received_at__gte=f.received_from)
    if f.received_before:
        qs = qs.filter(received_at__lt=f.received_before)
    if f.statuses:
        qs = qs.filter(status__in=f.statuses)
    return qs
