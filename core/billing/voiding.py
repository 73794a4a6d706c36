"""Voiding an invoice, and the payments that arrive after it.

Voiding first cancels the invoice's open payment links at their gateways (the contract's
optional ``cancel_payment_link``), so a customer cannot pay a void invoice; a gateway that
refuses or cannot be reached stops the void (GATEWAY_ERROR, nothing changed) so it can be
retried. A link found paid at the gateway stops it too: that payment is on its way.

A payment can still arrive for a void invoice (a Checkout page left open, a gateway without
cancellable links): ``core.billing.payments.record_gateway_payment`` keeps it as the customer's
credit (``billing_credit``) without touching the invoice, and calls ``payment_for_void_invoice``
after commit, which alerts staff and, with the billing setting ``late_payment_action`` =
``refund``, refunds it at the gateway at once."""

from __future__ import annotations

import logging
from uuid import UUID

from seva_crm.core.billing import notify
from seva_crm.core.billing.gateways import GatewayFailure, gateway_for, refund
from seva_crm.core.billing.invoices import check_voidable, get_invoice, void_invoice
from seva_crm.core.billing.settings import billing_settings
from seva_crm.core.common import localise
from seva_crm.core.common.enums import LatePaymentAction
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow
from seva_crm.core.models import Invoice, Payment, PaymentLink, Tenant
from seva_crm.core.storage.transactions import transaction

log = logging.getLogger("seva.billing")
CLOSED_LINK = ("paid", "cancelled", "expired")


async def void(tenant: TenantScope, invoice_id: UUID | None) -> Invoice:
    """Cancel the invoice's open payment links at their gateways, then void it."""
    invoice = await get_invoice(tenant.id, invoice_id)
    check_voidable(invoice)
    for link in await PaymentLink.filter(tenant_id=tenant.id, invoice_id=invoice.id).exclude(status__in=CLOSED_LINK):
        await _cancel(tenant.id, link)
    return await void_invoice(tenant, invoice.id)


async def _cancel(tenant_id: UUID, link: PaymentLink) -> None:
    gateway = await gateway_for(tenant_id, link.provider)
    cancel = getattr(gateway, "cancel_payment_link", None)
    if cancel is not None:
        try:
            status = await cancel(tenant_id, link.provider_id)
        except GatewayFailure as exc:
            raise DomainError.of("id", ErrorCode.GATEWAY_ERROR, f"the payment link could not be cancelled: {exc}") from None
    else:  # a gateway whose links cannot be cancelled: a late payment becomes a credit
        status = "cancelled"
    if status != "cancelled":
        raise DomainError.of("id", ErrorCode.INVALID, f"the invoice's payment link is {status} at {link.provider}: "
                                                      "record the payment instead of voiding")
    await PaymentLink.filter(id=link.id).update(status="cancelled", updated_at=utcnow())


async def payment_for_void_invoice(invoice: Invoice, payment: Payment) -> None:
    """After commit: a gateway payment was captured for a void invoice and kept as credit.
    Alert staff, and refund it if the tenant chose so."""
    settings = await billing_settings(invoice.tenant_id)
    refunded = False
    if settings.late_payment_action is LatePaymentAction.REFUND:
        region = (await Tenant.get(id=invoice.tenant_id).only("id", "region")).region
        try:
            await refund(TenantScope(invoice.tenant_id, region), payment.id,
                         {"amount": payment.amount, "reason": f"paid for void invoice {invoice.number}"})
            refunded = True
        except DomainError as exc:  # the gateway refused: it stays a credit, and staff are told
            log.warning("automatic refund of payment %s failed: %s", payment.id, exc.errors[0].code.value)
    amount = localise.money(payment.amount, payment.currency.value)
    outcome = "it was refunded to the payer" if refunded else "it is kept as the customer's credit"
    async with transaction():
        await notify.alert_staff(invoice.tenant_id, f"a payment of {amount} ({payment.provider} {payment.provider_payment_id}) "
                                 f"arrived for void invoice {invoice.number}; {outcome}.", f"late-payment:{payment.id}")
