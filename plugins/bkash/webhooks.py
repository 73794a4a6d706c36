"""bKash's routes: our pay link, and the browser's return from checkout; and the job that
executes and records.

- ``GET /webhooks/bkash/<tenant>/pay/<token>``: the payment link. The signed token names the
  invoice; each visit creates a checkout at bKash for what is due now and redirects the payer to
  bKash's page.
- ``GET /webhooks/bkash/<tenant>/callback?paymentID=..&status=success|failure|cancel``: bKash
  sends the payer's browser here. The redirect is unsigned, so it records nothing by itself: a
  ``success`` only makes the server ask bKash. The first callback for a payment id is stored as a
  gateway event (once per tenant and payment id) and executes the payment, once; replays only
  read what was recorded. After an unclear execute (timeout, 5xx, 9999) the payment's status is
  asked before anything else; a payment bKash still reports Initiated is left to the
  ``bkash.process_event`` job, which asks the status first and executes only if bKash says it
  was not executed. A completed payment is recorded through billing's checks
  (``settle_gateway_payment``): amount, currency and invoice must match or it is held for staff.

Every checkout started is kept as a ``checkout.created`` event. One nobody came back from (the
payer closed the browser, or the redirect was lost) is swept by ``bkash.sweep`` once
``CHECKOUT_WINDOW`` has passed: bKash is asked, and the checkout executed if the payer did
authorise it (recorded as usual) or else closed as expired; never twice (the callback's own event,
if it came, recorded the payment first, and a recorded payment is not executed again).

bKash's optional IPN (Amazon SNS, certificate-signed) is not used: the status query is the truth."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from uuid import UUID

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from seva_crm.plugin_api import (
    GatewayEventDeferred,
    GatewayFailure,
    GatewayPayment,
    advance_payment_link,
    enqueue,
    find_invoice,
    gateway_payment,
    gateway_review,
    payer_page as page,
    lost_gateway_events,
    process_gateway_event,
    process_gateway_event_with_retries,
    settle_gateway_payment,
    store_gateway_event,
    tenant_info,
    unprocessed_gateway_events,
    utcnow,
)
from seva_crm.plugins.bkash.adapter import guard
from seva_crm.plugins.bkash.amounts import to_minor, to_text
from seva_crm.plugins.bkash.client import BkashClient
from seva_crm.plugins.bkash.config import LINKS, PLUGIN, bkash_config, config_from
from seva_crm.plugins.bkash.errors import BkashError

log = logging.getLogger("seva.bkash")
PROCESS_JOB = "bkash.process_event"
SWEEP_JOB = "bkash.sweep"
CALLBACK = "checkout.callback"
CREATED = "checkout.created"
CHECKOUT_WINDOW = timedelta(minutes=30)  # a checkout not returned to by then is asked about and closed
REFUSED = "not completed at bKash"
NOT_RECORDED = "nothing to record"
MAX_ATTEMPTS = 8
RETRY_BASE_SECONDS = 30.0  # 30 s, 1 min, 2 min, ... capped at RETRY_MAX_SECONDS
RETRY_MAX_SECONDS = 3600.0
SWEEP_AFTER_SECONDS = 600.0
LINK_ORDER = {"created": 0, "paid": 1}
PAYMENT_ID = re.compile(r"^[A-Za-z0-9]{8,64}$")  # the shape of bKash's payment ids: anything else is not asked about


async def _name(tenant_id: UUID) -> str:
    info = await tenant_info(tenant_id)
    return info.name if info else ""


async def pay(request: Request) -> Response:
    """Start a checkout for what the invoice has due now, and send the payer to bKash."""
    found = await LINKS.tenant(request)
    invoice_id = LINKS.invoice_of(found.tenant_id, request.path_params.get("token", "")) if found else None
    invoice = await find_invoice(found.tenant_id, invoice_id=invoice_id) if invoice_id else None
    if invoice is None:
        return page("", "invalid", 404)
    name = await _name(found.tenant_id)
    if invoice.amount_due <= 0 or invoice.currency.value != "BDT":
        return page(name, "nothing_due")
    try:
        async with BkashClient(config_from(found.settings)) as client:
            created = await guard(client.create_payment(amount=to_text(invoice.amount_due), payer_reference=invoice.number,
                                                        callback_url=LINKS.url(found.tenant_id, "callback"), invoice_number=invoice.number))
    except GatewayFailure as exc:
        log.warning("bkash checkout not started for invoice %s: %s", invoice.id, exc)
        return page(name, "unavailable", 502)
    url, payment_id = created.get("bkashURL"), str(created.get("paymentID") or "")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or not PAYMENT_ID.match(payment_id):
        return page(name, "unavailable", 502)
    await store_gateway_event(found.tenant_id, PLUGIN, f"checkout:{payment_id}", CREATED, {"paymentID": payment_id})
    return RedirectResponse(url, status_code=303, headers={"cache-control": "no-store"})


async def callback(request: Request) -> Response:
    found = await LINKS.tenant(request)
    payment_id = request.query_params.get("paymentID", "")
    status = request.query_params.get("status", "")
    if found is None or not PAYMENT_ID.match(payment_id) or status not in ("success", "failure", "cancel"):
        return page("", "invalid", 400)
    name = await _name(found.tenant_id)
    if status != "success":
        return page(name, "not_completed")  # nothing to record; an unsigned claim is not trusted either way
    row_id = await store_gateway_event(found.tenant_id, PLUGIN, payment_id, CALLBACK, {"paymentID": payment_id})
    if row_id is not None:  # the first callback for this payment: execute it, once
        try:
            outcome = await process_gateway_event(row_id, handle_first)
        except Exception as exc:  # noqa: BLE001 - the stored row is retried by the job
            log.warning("bkash payment not settled yet (%s); the job will", type(exc).__name__)
            outcome = "deferred"
        if outcome.startswith("deferred"):
            await enqueue_processing(row_id, RETRY_BASE_SECONDS)
        elif REFUSED in outcome or NOT_RECORDED in outcome:
            return page(name, "not_completed")
    return page(name, await _state(found.tenant_id, payment_id))


async def _state(tenant_id: UUID, payment_id: str) -> str:
    if await gateway_payment(tenant_id, payment_id) is not None:
        return "paid"
    return "review" if await gateway_review(tenant_id, PLUGIN, payment_id) is not None else "pending"


def routes() -> list[Route]:
    """Mounted under /webhooks/bkash/ through ``seva_webhook_routes``."""
    return [Route("/{tenant}/pay/{token}", pay, methods=["GET"]), Route("/{tenant}/callback", callback, methods=["GET"])]


# ---------------------------------------------------------------------------- processing


async def handle_first(tenant_id: UUID, name: str, event: dict) -> str:
    """The first callback: execute (the client asks the status after an unclear answer)."""
    payment_id = str(event.get("paymentID"))
    async with await _client(tenant_id) as client:
        try:
            result = await client.execute(payment_id)
        except BkashError as exc:
            return _refusal(payment_id, exc)
    return await _settle(tenant_id, result)


async def handle(tenant_id: UUID, name: str, event: dict) -> str:
    """A retry: ask the status first; execute only if bKash says it was not executed yet."""
    payment_id = str(event.get("paymentID"))
    async with await _client(tenant_id) as client:
        try:
            result = await client.status(payment_id)
            if result.get("transactionStatus") == "Initiated" and await gateway_payment(tenant_id, payment_id) is None:
                result = await client.execute(payment_id)
        except BkashError as exc:
            return _refusal(payment_id, exc)
    return await _settle(tenant_id, result)


def _refusal(payment_id: str, exc: BkashError) -> str:
    """bKash refused for good (an unknown payment id, a payment the payer did not complete)."""
    if exc.retryable:
        raise exc
    return f"payment {payment_id}: {REFUSED} ({exc.code})"


async def _client(tenant_id: UUID) -> BkashClient:
    config = await bkash_config(tenant_id)
    if config is None:
        raise GatewayEventDeferred("bKash is not set up for this tenant now")
    return BkashClient(config)


def _when(text: object) -> datetime:
    """bKash's completedTime / paymentExecuteTime ("2026-12-01T10:20:30:123 GMT+0600"), else now."""
    if isinstance(text, str) and len(text) >= 19:
        try:
            local = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
            return (local - timedelta(hours=6)).replace(tzinfo=timezone.utc) if "+0600" in text else utcnow()
        except ValueError:
            pass
    return utcnow()


async def _settle(tenant_id: UUID, result: dict) -> str:
    payment_id, state = str(result.get("paymentID") or ""), result.get("transactionStatus")
    if state == "Initiated":
        raise GatewayEventDeferred(f"payment {payment_id} still Initiated")
    if state != "Completed":
        return f"payment {payment_id} {state}: {NOT_RECORDED}"
    amount, currency = to_minor(result.get("amount")), str(result.get("currency") or "")
    invoice = await find_invoice(tenant_id, number=str(result.get("merchantInvoiceNumber") or "")) if payment_id else None
    if invoice is None or amount is None:
        return f"payment {payment_id}: no invoice of ours or no amount"
    gp = GatewayPayment(PLUGIN, payment_id, amount, True, _when(result.get("completedTime") or result.get("paymentExecuteTime")),
                        str(result.get("trxID") or "")[:100])
    settled = await settle_gateway_payment(tenant_id, invoice.id, gp, currency)
    if settled.payment is not None:
        await advance_payment_link(tenant_id, PLUGIN, invoice.number, "paid", LINK_ORDER)
    return settled.outcome


async def enqueue_processing(event_row_id: UUID, delay_seconds: float | None = None) -> None:
    try:
        enqueue(PROCESS_JOB, str(event_row_id), delay_seconds=delay_seconds)
    except Exception as exc:  # noqa: BLE001 - the row is safe; the sweep retries the enqueue
        log.warning("could not enqueue bkash event %s (%s); the sweep will", event_row_id, type(exc).__name__)


def retry_delay(attempts: int) -> float:
    return min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))


async def process_job(event_row_id: str) -> None:
    """The ``bkash.process_event`` actor: settle a payment whose first callback could not."""
    await process_gateway_event_with_retries(UUID(event_row_id), handle, retry=enqueue_processing,
                                             max_attempts=MAX_ATTEMPTS, delay=retry_delay)


async def expire_abandoned(now: datetime) -> int:
    """Settle or close the checkouts started before ``now - CHECKOUT_WINDOW`` that nobody came
    back from: bKash's status first, then execute only a payment it has not executed (one the
    payer authorised); a payment the payer never completed is refused by bKash and closed.
    Returns how many were looked at."""
    rows = await unprocessed_gateway_events(PLUGIN, CREATED, created_before=now - CHECKOUT_WINDOW, max_attempts=MAX_ATTEMPTS)
    for row_id in rows:
        await process_gateway_event_with_retries(row_id, handle, retry=enqueue_processing, max_attempts=MAX_ATTEMPTS,
                                                 delay=retry_delay)
    return len(rows)


async def sweep_job() -> None:
    """The ``bkash.sweep`` actor: re-enqueue unsettled callbacks whose job was lost, and close
    abandoned checkouts."""
    idle = timedelta(seconds=SWEEP_AFTER_SECONDS + RETRY_MAX_SECONDS)
    for row_id in await lost_gateway_events(PLUGIN, idle_for=idle, max_attempts=MAX_ATTEMPTS):
        await enqueue_processing(row_id)
    await expire_abandoned(utcnow())
