"""bKash as a billing payment gateway (``PaymentGateway``): BDT only.

The payment link is ours (``plugin_api.PayLinks``): creating it checks the tenant's credentials with a token
grant (cached), and each visit starts a checkout. The gateway payment id recorded for a bKash
payment is its ``paymentID`` (the ``trxID`` the payer sees goes in the payment's reference)."""

from __future__ import annotations

import logging
from uuid import UUID

import httpx

from seva_crm.plugin_api import GatewayFailure, LinkRequest, LinkResult, PayloadPrivacy, RefundResult, RefundStatus
from seva_crm.plugins.bkash.amounts import to_minor, to_text
from seva_crm.plugins.bkash.client import BkashClient
from seva_crm.plugins.bkash.config import LINKS, PLUGIN, BkashConfig, bkash_config
from seva_crm.plugins.bkash.errors import BkashError, BkashUnavailable

log = logging.getLogger("seva.bkash")


class BkashGateway:
    name = PLUGIN
    # bKash's payment and status answers: the payer's wallet number and our payer reference
    payload_privacy = PayloadPrivacy(personal_keys=frozenset({"customerMsisdn", "payerReference", "payerAccount"}))

    async def is_configured(self, tenant_id: UUID) -> bool:
        return await bkash_config(tenant_id) is not None

    async def _config(self, tenant_id: UUID) -> BkashConfig:
        config = await bkash_config(tenant_id)
        if config is None:
            raise GatewayFailure("bKash is not set up for this tenant")
        return config

    async def create_payment_link(self, request: LinkRequest) -> LinkResult:
        if request.currency.value != "BDT":
            raise GatewayFailure(f"bKash takes BDT only, not {request.currency.value}")
        async with BkashClient(await self._config(request.tenant_id)) as client:
            await guard(client.check_credentials())
        url = LINKS.pay_url(request.tenant_id, request.invoice_id)
        return LinkResult(provider_id=request.reference_id, short_url=url, status="created")

    async def refund(self, tenant_id: UUID, provider_payment_id: str, amount: int, receipt: str) -> RefundResult:
        async with BkashClient(await self._config(tenant_id)) as client:
            payment = await guard(client.status(provider_payment_id))
            if payment.get("transactionStatus") != "Completed" or not payment.get("trxID"):
                raise GatewayFailure(f"bKash: the payment is {payment.get('transactionStatus') or 'unknown'}, not completed")
            refund = await guard(client.refund(payment_id=provider_payment_id, trx_id=str(payment["trxID"]), amount=to_text(amount),
                                               sku=receipt[:32], reason="Refund"))
        if to_minor(refund.get("amount")) not in (None, amount) or not refund.get("refundTrxID"):
            raise GatewayFailure("bKash: the refund answer does not match the request")
        status = RefundStatus.PROCESSED if refund.get("transactionStatus") == "Completed" else RefundStatus.PENDING
        return RefundResult(provider_refund_id=str(refund["refundTrxID"]), status=status)


async def guard(work):
    """A client call whose failure staff see as a GatewayFailure (code and bKash's message only)."""
    try:
        return await work
    except BkashError as exc:
        log.warning("bkash refused: %s", exc.code)
        raise GatewayFailure(f"bKash: {exc.message or exc.code} ({exc.code})") from None
    except (BkashUnavailable, httpx.TransportError):
        raise GatewayFailure("bKash could not be reached; try again shortly") from None
