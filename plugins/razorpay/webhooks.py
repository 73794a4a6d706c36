"""Razorpay webhooks: a route that verifies, stores and acknowledges, and ``process_event``,
which does the work.

The URL names the tenant: ``/webhooks/razorpay/<tenant id>`` (the opaque id the API shows), and
the signature is checked with THAT tenant's webhook secret, over the raw body, in constant time.
A missing or bad signature is answered 400 and nothing is stored. Each delivery's
``x-razorpay-event-id`` is stored once per tenant: a replay is answered 200 and changes nothing.
Events arrive out of order and repeat: payments are recorded once per Razorpay payment id, link
statuses only move forward, refunds and subscriptions tolerate any order (billing's rules).

The route is mounted through ``seva_webhook_routes``. After storing the row it enqueues the
``razorpay.process_event`` job (declared by the plugin's ``seva_actors``): the answer to Razorpay
never waits for the work. An event that arrives too early (a refund before its payment) or whose
processing fails is tried again by the job after an exponential delay, at most ``MAX_ATTEMPTS``
times; the ``razorpay.sweep`` job (scheduled by the plugin) re-enqueues rows whose job was lost."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from seva_crm.plugin_api import (
    GatewayEventDeferred,
    GatewayPayment,
    InvoiceRef,
    RefundStatus,
    SubscriptionStatus,
    advance_payment_link,
    apply_gateway_subscription_status,
    enqueue,
    find_invoice,
    gateway_payment,
    lost_gateway_events,
    process_gateway_event,
    process_gateway_event_with_retries,
    record_gateway_payment,
    store_gateway_event,
    subscription_invoice,
    update_gateway_refund,
    utcnow,
    webhook_tenants,
)
from seva_crm.plugins.razorpay.signatures import verify_webhook

log = logging.getLogger("seva.razorpay")
PROVIDER = "razorpay"
MAX_BODY = 1_000_000
PROCESS_JOB = "razorpay.process_event"
SWEEP_JOB = "razorpay.sweep"
MAX_ATTEMPTS = 8  # then the row stays unprocessed, with its outcome, for a person to look at
RETRY_BASE_SECONDS = 30.0  # 30 s, 1 min, 2 min, ... capped at RETRY_MAX_SECONDS
RETRY_MAX_SECONDS = 3600.0
SWEEP_AFTER_SECONDS = 600.0  # an unprocessed row this old with no retry pending had its job lost


async def receive(request: Request) -> JSONResponse:
    found = await webhook_tenants(PROVIDER, tenant=request.path_params.get("tenant", ""))
    body = await request.body()
    signature = request.headers.get("x-razorpay-signature")
    if not found or len(body) > MAX_BODY or not verify_webhook(body, signature, found[0].settings.webhook_secret.get_secret_value()):
        log.warning("razorpay webhook refused: unknown tenant or bad signature")
        return JSONResponse({"error": "invalid signature"}, status_code=400)
    event_id = request.headers.get("x-razorpay-event-id", "")
    try:
        event = json.loads(body)
        name = event["event"]
        if not isinstance(name, str) or not isinstance(event.get("payload"), dict) or not 0 < len(event_id) <= 64:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": "malformed event"}, status_code=400)
    row_id = await store_gateway_event(found[0].tenant_id, PROVIDER, event_id, name, event)
    if row_id is None:
        return JSONResponse({"status": "duplicate"})
    await enqueue_processing(row_id)
    return JSONResponse({"status": "accepted"})


def routes() -> list[Route]:
    """Mounted under /webhooks/razorpay/ through ``seva_webhook_routes``."""
    return [Route("/{tenant}", receive, methods=["POST"])]


async def enqueue_processing(event_row_id: UUID, delay_seconds: float | None = None) -> None:
    """Enqueue the processing job for a stored event. If the broker is unreachable the row stays
    unprocessed and the sweep enqueues it later (Razorpay is answered 200 either way: we stored it)."""
    try:
        enqueue(PROCESS_JOB, str(event_row_id), delay_seconds=delay_seconds)
    except Exception as exc:  # noqa: BLE001 - the row is safe; the sweep retries the enqueue
        log.warning("could not enqueue razorpay event %s (%s); the sweep will", event_row_id, type(exc).__name__)


def retry_delay(attempts: int) -> float:
    return min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))


async def process_job(event_row_id: str) -> None:
    """The ``razorpay.process_event`` actor: process the event; if it was deferred or failed,
    enqueue it again after ``retry_delay`` until ``MAX_ATTEMPTS``."""
    await process_gateway_event_with_retries(UUID(event_row_id), handle, retry=enqueue_processing,
                                             max_attempts=MAX_ATTEMPTS, delay=retry_delay)


async def sweep_job() -> None:
    """The ``razorpay.sweep`` actor: re-enqueue unprocessed events whose job was lost."""
    idle = timedelta(seconds=SWEEP_AFTER_SECONDS + RETRY_MAX_SECONDS)  # past any pending retry
    for row_id in await lost_gateway_events(PROVIDER, idle_for=idle, max_attempts=MAX_ATTEMPTS):
        await enqueue_processing(row_id)


async def process_event(event_row_id: UUID) -> str:
    """Apply one stored event; returns the outcome (ids and states only). Safe to run again."""
    return await process_gateway_event(event_row_id, handle)


async def handle(tenant_id: UUID, name: str, event: dict) -> str:
    handler = HANDLERS.get(name) or HANDLERS.get(name.split(".")[0] + ".*")
    return await handler(tenant_id, name, event) if handler else "ignored"


def _entity(event: dict, kind: str) -> dict | None:
    wrapped = (event.get("payload") or {}).get(kind)
    return wrapped.get("entity") if isinstance(wrapped, dict) else None


async def _invoice(tenant_id: UUID, *, notes=None, number: str | None = None) -> InvoiceRef | None:
    ours = notes.get("seva_invoice") if isinstance(notes, dict) else None
    return await find_invoice(tenant_id, invoice_id=ours, number=number)


def _when(unix: object) -> datetime:
    return datetime.fromtimestamp(unix, tz=timezone.utc) if isinstance(unix, int) else utcnow()


async def _record(tenant_id: UUID, invoice: InvoiceRef | None, payment: dict, captured: bool) -> str:
    if invoice is None:
        return f"payment {payment.get('id')}: no invoice of ours"
    if payment.get("currency") != invoice.currency.value or not isinstance(payment.get("amount"), int):
        return f"payment {payment.get('id')}: currency or amount does not match invoice {invoice.id}"
    gp = GatewayPayment(PROVIDER, str(payment["id"]), payment["amount"], captured, _when(payment.get("created_at")),
                        str(payment.get("method") or ""))
    _, changed = await record_gateway_payment(tenant_id, invoice.id, gp)
    state = "captured" if captured else "failed"
    return f"payment {payment['id']} {state} on invoice {invoice.id}" + ("" if changed else " (already recorded)")


async def on_payment(tenant_id: UUID, name: str, event: dict) -> str:
    payment = _entity(event, "payment") or {}
    if not payment.get("id"):
        return "no payment entity"
    order = _entity(event, "order") or {}
    invoice = await _invoice(tenant_id, notes=payment.get("notes"), number=order.get("receipt"))
    captured = name != "payment.failed" and payment.get("status") == "captured"
    if name == "payment.failed" or captured:
        return await _record(tenant_id, invoice, payment, captured)
    return f"payment {payment['id']} is {payment.get('status')}: nothing to record"


LINK_ORDER = {"created": 0, "partially_paid": 1, "expired": 2, "cancelled": 2, "paid": 3}


async def on_payment_link(tenant_id: UUID, name: str, event: dict) -> str:
    link = _entity(event, "payment_link") or {}
    status = str(link.get("status") or name.split(".", 1)[1])
    outcomes = []
    if await advance_payment_link(tenant_id, PROVIDER, str(link.get("id") or ""), status, LINK_ORDER):
        outcomes.append(f"link {link['id']} {status}")
    payment = _entity(event, "payment")
    if payment and name in ("payment_link.paid", "payment_link.partially_paid"):
        invoice = await _invoice(tenant_id, notes=link.get("notes"), number=link.get("reference_id"))
        outcomes.append(await _record(tenant_id, invoice, payment, payment.get("status") == "captured"))
    return "; ".join(outcomes) or "no change"


async def on_order_paid(tenant_id: UUID, name: str, event: dict) -> str:
    order, payment = _entity(event, "order") or {}, _entity(event, "payment")
    if not payment:
        return "no payment entity"
    invoice = await _invoice(tenant_id, notes=order.get("notes") or payment.get("notes"), number=order.get("receipt"))
    return await _record(tenant_id, invoice, payment, payment.get("status") == "captured")


REFUND_STATUS = {"refund.created": RefundStatus.PENDING, "refund.processed": RefundStatus.PROCESSED,
                 "refund.failed": RefundStatus.FAILED}


async def on_refund(tenant_id: UUID, name: str, event: dict) -> str:
    refund = _entity(event, "refund") or {}
    if name not in REFUND_STATUS or not refund.get("id") or not isinstance(refund.get("amount"), int):
        return "ignored"
    row, outcome = await update_gateway_refund(tenant_id, str(refund.get("payment_id")), str(refund["id"]), refund["amount"],
                                               REFUND_STATUS[name])
    if row is None:
        raise GatewayEventDeferred(outcome)
    return f"{refund['id']}: {outcome}"


SUBSCRIPTION_STATUS = {
    "subscription.activated": SubscriptionStatus.ACTIVE,
    "subscription.charged": SubscriptionStatus.ACTIVE,
    "subscription.resumed": SubscriptionStatus.ACTIVE,
    "subscription.pending": SubscriptionStatus.PAST_DUE,
    "subscription.halted": SubscriptionStatus.SUSPENDED,
    "subscription.paused": SubscriptionStatus.PAUSED,
    "subscription.cancelled": SubscriptionStatus.CANCELLED,
    "subscription.completed": SubscriptionStatus.EXPIRED,
}


async def on_subscription(tenant_id: UUID, name: str, event: dict) -> str:
    sub = _entity(event, "subscription") or {}
    if not sub.get("id"):
        return "no subscription entity"
    outcomes = []
    payment = _entity(event, "payment")
    if name == "subscription.charged" and payment:
        invoice = await subscription_invoice(tenant_id, PROVIDER, sub["id"])
        if invoice is None and await gateway_payment(tenant_id, str(payment.get("id"))) is None:
            outcomes.append(f"charge {payment.get('id')}: no open invoice to apply it to")
        else:
            outcomes.append(await _record(tenant_id, invoice, payment, payment.get("status") == "captured"))
    if name in SUBSCRIPTION_STATUS:  # authenticated: the mandate is set up, nothing changes yet
        when = event.get("created_at") if isinstance(event.get("created_at"), int) else 0
        outcomes.append(await apply_gateway_subscription_status(tenant_id, PROVIDER, sub["id"], SUBSCRIPTION_STATUS[name], when))
    return "; ".join(outcomes) or "no change"


HANDLERS = {
    "payment.captured": on_payment,
    "payment.failed": on_payment,
    "payment.authorized": on_payment,
    "order.paid": on_order_paid,
    "payment_link.*": on_payment_link,
    "refund.*": on_refund,
    "subscription.*": on_subscription,
}
