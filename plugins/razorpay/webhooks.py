"""Razorpay webhooks: a route that verifies, stores and acknowledges, and ``process_event``,
which does the work.

The URL names the tenant: ``/webhooks/razorpay/<tenant id>`` (the opaque id the API shows), and
the signature is checked with THAT tenant's webhook secret, over the raw body, in constant time.
A missing or bad signature is answered 400 and nothing is stored. Each delivery's
``x-razorpay-event-id`` is stored once per tenant: a replay is answered 200 and changes nothing.
Events arrive out of order and repeat: payments are recorded once per Razorpay payment id, link
statuses only move forward, refunds and subscriptions tolerate any order (see core.billing).

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
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from seva_crm.core.billing.payments import GatewayPayment, record_gateway_payment, update_gateway_refund
from seva_crm.core.billing.subscriptions import apply_gateway_status
from seva_crm.core.common.enums import InvoiceStatus, RefundStatus, SubscriptionStatus
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.jobs import enqueue
from seva_crm.core.models import GatewayEvent, Invoice, Payment, PaymentLink
from seva_crm.core.common.security import utcnow
from seva_crm.plugins.razorpay.config import razorpay_config
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
    tenant_id = from_global_id(request.path_params.get("tenant", ""), "Tenant")
    body = await request.body()
    config = await razorpay_config(tenant_id) if tenant_id else None
    signature = request.headers.get("x-razorpay-signature")
    if config is None or len(body) > MAX_BODY or not verify_webhook(body, signature, config.webhook_secret.get_secret_value()):
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
    try:
        row = await GatewayEvent.create(tenant_id=tenant_id, provider=PROVIDER, event_id=event_id, name=name[:64], payload=event)
    except IntegrityError:
        return JSONResponse({"status": "duplicate"})
    await enqueue_processing(row.id)
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
    row_id = UUID(event_row_id)
    try:
        outcome = await process_event(row_id)
    except Exception as exc:  # noqa: BLE001 - counted and retried below; the class only (no personal data)
        log.warning("razorpay event %s failed to process (%s)", row_id, type(exc).__name__)
        await GatewayEvent.filter(id=row_id, processed_at__isnull=True).update(
            attempts=F("attempts") + 1, outcome=f"failed: {type(exc).__name__}"[:200], updated_at=utcnow())
    else:
        if not outcome.startswith("deferred"):
            return
    row = await GatewayEvent.get_or_none(id=row_id).only("id", "attempts", "processed_at")
    if row is None or row.processed_at is not None:
        return
    if row.attempts >= MAX_ATTEMPTS:
        log.error("razorpay event %s gave up after %d attempts", row_id, row.attempts)
        return
    await enqueue_processing(row_id, delay_seconds=retry_delay(row.attempts))


async def sweep_job() -> None:
    """The ``razorpay.sweep`` actor: re-enqueue unprocessed events whose job was lost."""
    cutoff = utcnow() - timedelta(seconds=SWEEP_AFTER_SECONDS + RETRY_MAX_SECONDS)  # past any pending retry
    ids = await GatewayEvent.filter(provider=PROVIDER, processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS,
                                    updated_at__lt=cutoff).limit(1000).values_list("id", flat=True)
    for row_id in ids:
        await enqueue_processing(row_id)


class Deferred(Exception):
    """Not yet: the event refers to something not recorded yet (a refund before its payment)."""


async def process_event(event_row_id: UUID) -> str:
    """Apply one stored event; returns the outcome (ids and states only). Safe to run again."""
    row = await GatewayEvent.get_or_none(id=event_row_id)
    if row is None or row.processed_at is not None:
        return "already processed"
    row.attempts += 1
    handler = HANDLERS.get(row.name) or HANDLERS.get(row.name.split(".")[0] + ".*")
    try:
        outcome = await handler(row.tenant_id, row.name, row.payload) if handler else "ignored"
    except Deferred as exc:
        row.outcome = f"deferred: {exc}"[:200]
        await row.save(update_fields=["attempts", "outcome", "updated_at"])
        return row.outcome
    row.processed_at, row.outcome = utcnow(), outcome[:200]
    await row.save(update_fields=["attempts", "processed_at", "outcome", "updated_at"])
    log.info("razorpay event %s (%s): %s", row.event_id, row.name, row.outcome)
    return row.outcome


def _entity(event: dict, kind: str) -> dict | None:
    wrapped = (event.get("payload") or {}).get(kind)
    return wrapped.get("entity") if isinstance(wrapped, dict) else None


async def _invoice(tenant_id: UUID, *, notes=None, number: str | None = None) -> Invoice | None:
    if isinstance(notes, dict) and (ref := notes.get("seva_invoice")):
        try:
            found = await Invoice.get_or_none(id=UUID(str(ref)), tenant_id=tenant_id)
        except ValueError:
            found = None
        if found:
            return found
    return await Invoice.get_or_none(tenant_id=tenant_id, number=number) if number else None


def _when(unix: object) -> datetime:
    return datetime.fromtimestamp(unix, tz=timezone.utc) if isinstance(unix, int) else utcnow()


async def _record(tenant_id: UUID, invoice: Invoice | None, payment: dict, captured: bool) -> str:
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
    row = await PaymentLink.get_or_none(tenant_id=tenant_id, provider=PROVIDER, provider_id=link.get("id"))
    status = str(link.get("status") or name.split(".", 1)[1])
    outcomes = []
    if row is not None and LINK_ORDER.get(status, -1) > LINK_ORDER.get(row.status, -1):
        row.status = status
        await row.save(update_fields=["status", "updated_at"])
        outcomes.append(f"link {row.provider_id} {status}")
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
        raise Deferred(outcome)
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
        from seva_crm.core.models import Subscription

        ours = await Subscription.get_or_none(tenant_id=tenant_id, gateway=PROVIDER, gateway_subscription_id=sub["id"])
        invoice = None
        if ours is not None:
            invoice = await Invoice.filter(tenant_id=tenant_id, subscription_id=ours.id, status=InvoiceStatus.OPEN).order_by("due_on").first()
        if invoice is None and not await Payment.exists(provider_payment_id=payment.get("id")):
            outcomes.append(f"charge {payment.get('id')}: no open invoice to apply it to")
        else:
            outcomes.append(await _record(tenant_id, invoice, payment, payment.get("status") == "captured"))
    if name in SUBSCRIPTION_STATUS:  # authenticated: the mandate is set up, nothing changes yet
        when = event.get("created_at") if isinstance(event.get("created_at"), int) else 0
        outcomes.append(await apply_gateway_status(tenant_id, PROVIDER, sub["id"], SUBSCRIPTION_STATUS[name], when))
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
