"""SSLCommerz's routes: our pay link, the IPN and the browser's return; and the jobs that
validate and record, and follow refunds.

- ``GET /webhooks/sslcommerz/<tenant>/pay/<token>``: the payment link. The signed token names the
  invoice; each visit opens a session at SSLCommerz (a new ``tran_id``) for what is due now and
  redirects the payer to its page.
- ``POST /webhooks/sslcommerz/<tenant>/ipn``: SSLCommerz's notification. Its ``verify_sign`` is
  checked with the store's password (bad or missing: 400, nothing stored).
- ``POST /webhooks/sslcommerz/<tenant>/return/<success|fail|cancel>``: the payer's browser, with
  the same fields and no more trustworthy: checked the same way.

A paid notification, from either, is stored once per tenant and ``tran_id`` (whichever comes
first; the other, and every replay, is a duplicate), and then the MANDATORY validation API call
decides: only a ``VALID`` or ``VALIDATED`` answer for the same tran_id is recorded, with the
amount and currency the validation reports, through billing's checks (``settle_gateway_payment``:
the invoice's currency and exactly what it has due, else held for staff). ``risk_level`` 1 holds
the payment for staff review. A late notification for an invoice paid meanwhile is held as an
overpayment, never a second payment. Work that fails (SSLCommerz unreachable) is retried by the
``sslcommerz.process_event`` job; ``sslcommerz.refunds`` asks SSLCommerz about refunds still
processing, by their ``refund_ref_id``."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta, timezone
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from seva_crm.plugin_api import (
    GatewayEventDeferred,
    GatewayFailure,
    GatewayPayment,
    RefundStatus,
    advance_payment_link,
    enqueue,
    find_invoice,
    gateway_payment,
    gateway_review,
    payer_page as page,
    lost_gateway_events,
    payment_request,
    pending_gateway_refunds,
    process_gateway_event,
    process_gateway_event_with_retries,
    settle_gateway_payment,
    store_gateway_event,
    tenant_info,
    update_gateway_refund,
    utcnow,
)
from seva_crm.plugins.sslcommerz.adapter import PAID, guard
from seva_crm.plugins.sslcommerz.amounts import to_minor, to_text
from seva_crm.plugins.sslcommerz.client import SslcommerzClient
from seva_crm.plugins.sslcommerz.config import LINKS, PLUGIN, config_from, sslcommerz_config
from seva_crm.plugins.sslcommerz.errors import SslcommerzError
from seva_crm.plugins.sslcommerz.signatures import verify

log = logging.getLogger("seva.sslcommerz")
PROCESS_JOB = "sslcommerz.process_event"
SWEEP_JOB = "sslcommerz.sweep"
REFUNDS_JOB = "sslcommerz.refunds"
MAX_ATTEMPTS = 8
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
SWEEP_AFTER_SECONDS = 600.0
LINK_ORDER = {"created": 0, "paid": 1}
STATUSES = ("VALID", "FAILED", "CANCELLED", "UNATTEMPTED", "EXPIRED")
MAX_FIELDS = 80
MAX_TRAN_ID = 30
DHAKA = timezone(timedelta(hours=6))
NOT_RECORDED = "nothing recorded"
REFUND_STATUS = {"refunded": RefundStatus.PROCESSED, "cancelled": RefundStatus.FAILED}


async def _name(tenant_id: UUID) -> str:
    info = await tenant_info(tenant_id)
    return info.name if info else ""


async def pay(request: Request) -> Response:
    """Open a session for what the invoice has due now, and send the payer to SSLCommerz."""
    found = await LINKS.tenant(request)
    invoice_id = LINKS.invoice_of(found.tenant_id, request.path_params.get("token", "")) if found else None
    if invoice_id is None:
        return page("", "invalid", 404)
    name = await _name(found.tenant_id)
    asked = await payment_request(found.tenant_id, invoice_id)
    if asked is None or asked.currency.value != "BDT":
        return page(name, "nothing_due")
    tenant_id = found.tenant_id
    fields = {
        "total_amount": to_text(asked.amount), "currency": "BDT",
        "tran_id": f"{asked.reference_id[:MAX_TRAN_ID - 9]}-{secrets.token_hex(4)}",  # one per attempt
        "success_url": LINKS.url(tenant_id, "return", "success"), "fail_url": LINKS.url(tenant_id, "return", "fail"),
        "cancel_url": LINKS.url(tenant_id, "return", "cancel"), "ipn_url": LINKS.url(tenant_id, "ipn"),
        # the payer as the invoice's customer record has them (address: SSLCommerz requires one; we keep none for payments)
        "cus_name": asked.customer_name[:50], "cus_email": asked.customer_email or "N/A", "cus_phone": asked.customer_phone or "N/A",
        "cus_add1": "N/A", "cus_city": "N/A", "cus_country": "Bangladesh",
        "shipping_method": "NO", "product_name": asked.description[:255], "product_category": "Service",
        "product_profile": "general", "value_a": str(asked.invoice_id), "value_b": asked.reference_id,
    }
    try:
        async with SslcommerzClient(config_from(found.settings)) as client:
            session = await guard(client.create_session(fields))
    except GatewayFailure as exc:
        log.warning("sslcommerz session not opened for invoice %s: %s", asked.invoice_id, exc)
        return page(name, "unavailable", 502)
    url = str(session["GatewayPageURL"])
    if not url.startswith(("https://", "http://")):
        return page(name, "unavailable", 502)
    return RedirectResponse(url, status_code=303, headers={"cache-control": "no-store"})


async def _verified(request: Request):
    """(tenant, fields) of a well-signed notification or return, else (tenant or None, None)."""
    found = await LINKS.tenant(request)
    if found is None:
        return None, None
    try:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    except Exception:  # noqa: BLE001 - any unparsable body is refused below
        return found, None
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    ok = verify(fields, found.settings.store_passwd.get_secret_value())
    if not ok or fields.get("status") not in STATUSES or not 0 < len(fields.get("tran_id", "")) <= MAX_TRAN_ID:
        log.warning("sslcommerz notification refused: bad signature or fields")
        return found, None
    return found, fields


async def _receive(tenant_id: UUID, fields: dict[str, str], name: str) -> str:
    """Store the notification once per tran_id (and outcome), and apply it; the outcome."""
    paid = fields["status"] == "VALID"
    event_id = f"{fields['tran_id']}:{'paid' if paid else fields['status'].lower()}"
    row_id = await store_gateway_event(tenant_id, PLUGIN, event_id, name, fields)
    if row_id is None:
        return "duplicate"
    try:
        outcome = await process_gateway_event(row_id, handle)
    except Exception as exc:  # noqa: BLE001 - the stored row is retried by the job
        log.warning("sslcommerz notification not applied yet (%s); the job will", type(exc).__name__)
        outcome = "deferred"
    if outcome.startswith("deferred"):
        await enqueue_processing(row_id, RETRY_BASE_SECONDS)
    return outcome


async def ipn(request: Request) -> Response:
    found, fields = await _verified(request)
    if fields is None:
        return JSONResponse({"error": "invalid notification"}, status_code=400)
    outcome = await _receive(found.tenant_id, fields, "ipn")
    return JSONResponse({"status": "duplicate" if outcome == "duplicate" else "accepted"})


async def browser_return(request: Request) -> Response:
    found, fields = await _verified(request)
    if fields is None:
        return page(await _name(found.tenant_id) if found else "", "invalid", 400)
    name = await _name(found.tenant_id)
    if fields["status"] != "VALID":
        return page(name, "not_completed")
    outcome = await _receive(found.tenant_id, fields, "return")
    if NOT_RECORDED in outcome:
        return page(name, "not_completed")
    if await gateway_payment(found.tenant_id, fields["tran_id"]) is not None:
        return page(name, "paid")
    return page(name, "review" if await gateway_review(found.tenant_id, PLUGIN, fields["tran_id"]) else "pending")


def routes() -> list[Route]:
    """Mounted under /webhooks/sslcommerz/ through ``seva_webhook_routes``."""
    return [Route("/{tenant}/pay/{token}", pay, methods=["GET"]), Route("/{tenant}/ipn", ipn, methods=["POST"]),
            Route("/{tenant}/return/{outcome}", browser_return, methods=["POST"])]


# ---------------------------------------------------------------------------- processing


def _when(text: object) -> datetime:
    """SSLCommerz's tran_date ("2026-03-11 12:30:00", Dhaka time), else now."""
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=DHAKA).astimezone(timezone.utc)
    except ValueError:
        return utcnow()


async def handle(tenant_id: UUID, name: str, fields: dict) -> str:
    """Apply a verified notification: a paid one only after the validation API says so."""
    tran_id = str(fields.get("tran_id"))
    if fields.get("status") != "VALID":
        return f"tran {tran_id} {fields.get('status')}: {NOT_RECORDED}"
    config = await sslcommerz_config(tenant_id)
    if config is None:
        raise GatewayEventDeferred("SSLCommerz is not set up for this tenant now")
    async with SslcommerzClient(config) as client:
        try:
            checked = await client.validate(str(fields.get("val_id")))
        except SslcommerzError as exc:
            if exc.retryable:
                raise
            return f"tran {tran_id}: validation refused: {NOT_RECORDED}"
    if checked.get("status") not in PAID or checked.get("tran_id") != tran_id:
        return f"tran {tran_id}: validation says {str(checked.get('status'))[:30]}: {NOT_RECORDED}"
    invoice = await find_invoice(tenant_id, invoice_id=checked.get("value_a"))
    amount = to_minor(checked.get("currency_amount") or checked.get("amount"))
    currency = str(checked.get("currency_type") or checked.get("currency") or "")
    if invoice is None or amount is None:
        return f"tran {tran_id}: no invoice of ours or no amount: {NOT_RECORDED}"
    hold = "SSLCommerz risk level 1: check before accepting" if str(checked.get("risk_level")) == "1" else ""
    gp = GatewayPayment(PLUGIN, tran_id, amount, True, _when(checked.get("tran_date")), str(checked.get("card_type") or "")[:100])
    settled = await settle_gateway_payment(tenant_id, invoice.id, gp, currency, hold=hold)
    if settled.payment is not None:
        await advance_payment_link(tenant_id, PLUGIN, invoice.number, "paid", LINK_ORDER)
    return settled.outcome


async def enqueue_processing(event_row_id: UUID, delay_seconds: float | None = None) -> None:
    try:
        enqueue(PROCESS_JOB, str(event_row_id), delay_seconds=delay_seconds)
    except Exception as exc:  # noqa: BLE001 - the row is safe; the sweep retries the enqueue
        log.warning("could not enqueue sslcommerz event %s (%s); the sweep will", event_row_id, type(exc).__name__)


def retry_delay(attempts: int) -> float:
    return min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))


async def process_job(event_row_id: str) -> None:
    """The ``sslcommerz.process_event`` actor: apply a notification that could not be at once."""
    await process_gateway_event_with_retries(UUID(event_row_id), handle, retry=enqueue_processing,
                                             max_attempts=MAX_ATTEMPTS, delay=retry_delay)


async def sweep_job() -> None:
    """The ``sslcommerz.sweep`` actor: re-enqueue notifications whose job was lost."""
    idle = timedelta(seconds=SWEEP_AFTER_SECONDS + RETRY_MAX_SECONDS)
    for row_id in await lost_gateway_events(PLUGIN, idle_for=idle, max_attempts=MAX_ATTEMPTS):
        await enqueue_processing(row_id)


async def poll_refunds() -> list[str]:
    """The ``sslcommerz.refunds`` actor: ask about every refund still processing; the outcomes."""
    outcomes = []
    for pending in await pending_gateway_refunds(PLUGIN):
        config = await sslcommerz_config(pending.tenant_id)
        if config is None:
            continue
        try:
            async with SslcommerzClient(config) as client:
                state = await guard(client.refund_status(pending.provider_refund_id))
        except GatewayFailure as exc:
            log.warning("sslcommerz refund %s not checked: %s", pending.provider_refund_id, exc)
            continue
        status = REFUND_STATUS.get(str(state.get("status")))
        if status is not None:
            _, outcome = await update_gateway_refund(pending.tenant_id, pending.provider_payment_id, pending.provider_refund_id,
                                                     pending.amount, status)
            outcomes.append(f"{pending.provider_refund_id}: {outcome}")
    return outcomes
