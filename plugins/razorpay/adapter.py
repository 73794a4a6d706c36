"""Razorpay as a billing payment gateway (``PaymentGateway``)."""

from __future__ import annotations

import logging
from uuid import UUID

from seva_crm.plugin_api import GatewayFailure, LinkRequest, LinkResult, PayloadPrivacy, RefundResult, RefundStatus
from seva_crm.plugins.razorpay.client import RazorpayClient
from seva_crm.plugins.razorpay.config import RazorpayConfig, razorpay_config
from seva_crm.plugins.razorpay.errors import RazorpayError, RazorpayUnavailable

log = logging.getLogger("seva.razorpay")
REFUND_STATUS = {"pending": RefundStatus.PENDING, "processed": RefundStatus.PROCESSED, "failed": RefundStatus.FAILED}


class RazorpayGateway:
    name = "razorpay"
    # Razorpay's payment, order, link and customer entities: keys whose values are about the
    # payer; notes are the merchant's free text, but for our invoice id
    payload_privacy = PayloadPrivacy(
        personal_keys=frozenset({"email", "contact", "phone", "name", "vpa", "customer_details", "customer",
                                 "billing_address", "shipping_address", "address", "card", "bank_account", "upi",
                                 "acquirer_data", "description"}),
        note_keys=frozenset({"notes"}), kept_notes=frozenset({"seva_invoice"}))

    async def is_configured(self, tenant_id: UUID) -> bool:
        return await razorpay_config(tenant_id) is not None

    async def _config(self, tenant_id: UUID) -> RazorpayConfig:
        config = await razorpay_config(tenant_id)
        if config is None:
            raise GatewayFailure("Razorpay is not set up for this tenant")
        return config

    async def create_payment_link(self, request: LinkRequest) -> LinkResult:
        if request.currency.value != "INR":
            raise GatewayFailure(f"Razorpay takes INR only, not {request.currency.value}")
        customer = {"name": request.customer_name[:100]}
        if request.customer_phone:
            customer["contact"] = request.customer_phone
        if request.customer_email:
            customer["email"] = request.customer_email
        body = {
            "amount": request.amount, "currency": "INR", "reference_id": request.reference_id,
            "description": request.description, "customer": customer,
            "notify": {"sms": False, "email": False},  # reminders go through our own outbox
            "reminder_enable": False,
            "notes": {"seva_invoice": str(request.invoice_id)},
        }
        async with RazorpayClient(await self._config(request.tenant_id)) as client:
            link = await _guard(client.create_payment_link(body))
        return LinkResult(provider_id=link["id"], short_url=link["short_url"], status=link["status"])

    async def cancel_payment_link(self, tenant_id: UUID, provider_link_id: str) -> str:
        """Cancel the link; its status at Razorpay afterwards (a link already paid, cancelled or
        expired cannot be cancelled: Razorpay refuses, and the link's own status is the answer)."""
        async with RazorpayClient(await self._config(tenant_id)) as client:
            try:
                link = await client.cancel_payment_link(provider_link_id)
            except RazorpayError as exc:
                if exc.status != 400:
                    raise GatewayFailure(f"Razorpay: {exc.description or exc.code}") from None
                link = await _guard(client.fetch_payment_link(provider_link_id))
                if link.get("status") in ("created", "partially_paid"):
                    raise GatewayFailure(f"Razorpay: {exc.description or exc.code}") from None
            except RazorpayUnavailable:
                raise GatewayFailure("Razorpay could not be reached; try again shortly") from None
        return str(link.get("status"))

    async def refund(self, tenant_id: UUID, provider_payment_id: str, amount: int, receipt: str) -> RefundResult:
        async with RazorpayClient(await self._config(tenant_id)) as client:
            refund = await _guard(client.refund(provider_payment_id, amount, receipt))
        return RefundResult(provider_refund_id=refund["id"], status=REFUND_STATUS.get(refund.get("status"), RefundStatus.PENDING))


async def _guard(work):
    try:
        return await work
    except RazorpayError as exc:
        log.warning("razorpay refused: %s %s (%s)", exc.status, exc.code, exc.field)
        raise GatewayFailure(f"Razorpay: {exc.description or exc.code}") from None
    except RazorpayUnavailable:
        raise GatewayFailure("Razorpay could not be reached; try again shortly") from None
