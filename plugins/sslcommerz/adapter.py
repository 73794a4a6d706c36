"""SSLCommerz as a billing payment gateway (``PaymentGateway``): BDT only.

The payment link is ours (``plugin_api.PayLinks``): creating it checks the store's credentials with a query,
and each visit opens a session. The gateway payment id recorded
for an SSLCommerz payment is our ``tran_id`` (one per attempt); a refund looks up the payment's
``bank_tran_id`` by it. A refund SSLCommerz is still processing is recorded pending and polled
(``webhooks.poll_refunds``) until it ends."""

from __future__ import annotations

import logging
from uuid import UUID

import httpx

from seva_crm.plugin_api import GatewayFailure, LinkRequest, LinkResult, PayloadPrivacy, RefundResult, RefundStatus
from seva_crm.plugins.sslcommerz.amounts import to_text
from seva_crm.plugins.sslcommerz.client import SslcommerzClient
from seva_crm.plugins.sslcommerz.config import LINKS, PLUGIN, SslcommerzConfig, sslcommerz_config
from seva_crm.plugins.sslcommerz.errors import SslcommerzError, SslcommerzUnavailable

log = logging.getLogger("seva.sslcommerz")
PAID = ("VALID", "VALIDATED")


class SslcommerzGateway:
    name = PLUGIN
    # the IPN and validation answers: card and account details of the payer, and the pass-through values
    payload_privacy = PayloadPrivacy(personal_keys=frozenset({"card_no", "card_issuer", "card_brand", "card_issuer_country",
                                                              "card_issuer_country_code", "cus_name", "cus_email", "cus_phone",
                                                              "cus_add1", "cus_city", "value_c", "value_d"}))

    async def is_configured(self, tenant_id: UUID) -> bool:
        return await sslcommerz_config(tenant_id) is not None

    async def _config(self, tenant_id: UUID) -> SslcommerzConfig:
        config = await sslcommerz_config(tenant_id)
        if config is None:
            raise GatewayFailure("SSLCommerz is not set up for this tenant")
        return config

    async def create_payment_link(self, request: LinkRequest) -> LinkResult:
        if request.currency.value != "BDT":
            raise GatewayFailure(f"SSLCommerz takes BDT only here, not {request.currency.value}")
        async with SslcommerzClient(await self._config(request.tenant_id)) as client:
            await guard(client.check_credentials())
        url = LINKS.pay_url(request.tenant_id, request.invoice_id)
        return LinkResult(provider_id=request.reference_id, short_url=url, status="created")

    async def refund(self, tenant_id: UUID, provider_payment_id: str, amount: int, receipt: str) -> RefundResult:
        async with SslcommerzClient(await self._config(tenant_id)) as client:
            found = await guard(client.transactions(provider_payment_id))
            paid = next((t for t in found if t.get("status") in PAID and t.get("bank_tran_id")), None)
            if paid is None:
                raise GatewayFailure("SSLCommerz: no paid transaction for this payment")
            refund = await guard(client.refund(bank_tran_id=str(paid["bank_tran_id"]), amount=to_text(amount), remarks="Refund",
                                               refe_id=receipt[:50]))
        status = RefundStatus.PROCESSED if refund["status"] == "success" else RefundStatus.PENDING
        return RefundResult(provider_refund_id=str(refund["refund_ref_id"]), status=status)


async def guard(work):
    """A client call whose failure staff see as a GatewayFailure (SSLCommerz's reason only)."""
    try:
        return await work
    except SslcommerzError as exc:
        log.warning("sslcommerz refused (HTTP %s)", exc.http_status)
        raise GatewayFailure(f"SSLCommerz: {exc.message}") from None
    except (SslcommerzUnavailable, httpx.TransportError):
        raise GatewayFailure("SSLCommerz could not be reached; check its panel before trying again") from None
