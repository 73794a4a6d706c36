"""WhatsApp webhooks, mounted under /webhooks/whatsapp/.

- GET: the subscription handshake. ``hub.mode=subscribe`` with a ``hub.verify_token`` equal (in
  constant time) to some tenant's verify token -> 200 with ``hub.challenge`` as the body; else 403.
- POST: events. The tenant is found by ``metadata.phone_number_id`` (the tenants whose WhatsApp
  settings hold it: ``webhook_tenants``), then
  ``X-Hub-Signature-256`` is checked over the raw body with that tenant's app secret in constant
  time: missing -> 401, wrong -> 403, and nothing is changed. Every tenant an envelope addresses
  must verify. Then:
  - statuses delivered / read / failed move the message forward (``record_delivery_status``:
    repeats and reports out of order change nothing, so (wamid, status) is deduplicated by the
    guarded update); ``sent`` is already known from the send's answer. A failed 131026 marks
    the customer not on WhatsApp; 131050 withdraws marketing consent.
  - inbound messages are stored once per wamid against the customer with that E.164 number
    (senders who are not customers are not stored) and open the 24-hour window; a STOP/START
    keyword withdraws or grants marketing consent on WhatsApp.
  - ``user_preferences`` stop/resume for ``marketing_messages`` do the same.
  The work is small (a few indexed queries per event) and runs inline before the 200."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from seva_crm.plugin_api import (
    ConsentSource,
    MessageStatus,
    customer_by_phone,
    record_delivery_status,
    record_inbound,
    utcnow,
    webhook_tenants,
)
from seva_crm.plugins.whatsapp import contacts, errors as E
from seva_crm.plugins.whatsapp.optout import keyword, resume_marketing, stop_marketing

log = logging.getLogger("seva.whatsapp")
PLUGIN = "whatsapp"
MAX_BODY = 3_000_000
STATUSES = {"delivered": MessageStatus.DELIVERED, "read": MessageStatus.READ, "failed": MessageStatus.FAILED}


def signature_ok(raw: bytes, header: str, app_secret: str) -> bool:
    expected = "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


async def verify(request: Request) -> Response:
    q = request.query_params
    mode, token, challenge = q.get("hub.mode", ""), q.get("hub.verify_token", ""), q.get("hub.challenge", "")
    if mode != "subscribe" or not token:
        return PlainTextResponse("forbidden", status_code=403)
    if not await webhook_tenants(PLUGIN, match={"verify_token": token}):
        return PlainTextResponse("forbidden", status_code=403)
    return PlainTextResponse(challenge)


def _changes(event: Any) -> list[tuple[str, str, dict]]:
    """(field, phone_number_id, value) of each change; ValueError for a malformed envelope."""
    if not isinstance(event, dict) or event.get("object") != "whatsapp_business_account":
        raise ValueError("not a whatsapp_business_account event")
    found = []
    for entry in event.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value")
            if not isinstance(value, dict):
                raise ValueError("change without a value")
            number = str((value.get("metadata") or {}).get("phone_number_id") or "")
            found.append((str(change.get("field") or ""), number, value))
    return found


async def _route(number: str, raw: bytes, header: str) -> UUID | str | None:
    """The tenant whose WhatsApp number this is and whose app secret signed ``raw``; "bad
    signature" if the number is a tenant's but no secret matches; None if it is no tenant's."""
    configured = await webhook_tenants(PLUGIN, match={"phone_number_id": number}) if number else []
    for found in configured:
        if signature_ok(raw, header, found.settings.app_secret.get_secret_value()):
            return found.tenant_id
    return "bad signature" if configured else None


async def receive(request: Request) -> Response:
    raw = await request.body()
    header = request.headers.get("x-hub-signature-256")
    if not header:
        return JSONResponse({"error": "missing signature"}, status_code=401)
    if len(raw) > MAX_BODY:
        return JSONResponse({"error": "too large"}, status_code=413)
    try:
        changes = _changes(json.loads(raw))
    except ValueError:
        return JSONResponse({"error": "invalid signature or payload"}, status_code=403)
    tenants: dict[str, UUID] = {}
    for number in {number for _, number, _ in changes}:
        found = await _route(number, raw, header)
        if found is None:
            log.info("whatsapp webhook for an unknown phone number id: ignored")
            return JSONResponse({"status": "ignored"})  # 200: nothing of ours; Meta need not retry
        if found == "bad signature":
            log.warning("whatsapp webhook refused: bad signature")
            return JSONResponse({"error": "invalid signature"}, status_code=403)
        tenants[number] = found
    outcomes = []
    for field, number, value in changes:
        tenant_id = tenants[number]
        outcomes.extend(await process_change(tenant_id, field, value))
    return JSONResponse({"status": "accepted", "processed": len(outcomes)})


async def process_change(tenant_id: UUID, field: str, value: dict) -> list[str]:
    out: list[str] = []
    if field == "messages":
        for status in value.get("statuses") or []:
            out.append(await on_status(tenant_id, status))
        for inbound in value.get("messages") or []:
            out.append(await on_inbound(tenant_id, inbound))
    elif field == "user_preferences":
        for pref in value.get("user_preferences") or []:
            out.append(await on_preference(tenant_id, pref))
    return out


def _when(stamp: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(stamp), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return utcnow()


def _phone(wa_id: Any) -> str:
    """A WhatsApp id (digits) as E.164."""
    digits = "".join(ch for ch in str(wa_id or "") if ch.isdigit())
    return f"+{digits}" if digits else ""


def _reference(status: dict) -> UUID | None:
    """Our message id, echoed back as biz_opaque_callback_data."""
    try:
        return UUID(str(status.get("biz_opaque_callback_data") or ""))
    except ValueError:
        return None


async def on_status(tenant_id: UUID, status: dict) -> str:
    to = STATUSES.get(str(status.get("status") or ""))
    if to is None:
        return "status ignored"  # sent: known from the send's answer
    code, error = 0, ""
    if to is MessageStatus.FAILED:
        first = (status.get("errors") or [{}])[0] or {}
        code = int(first.get("code") or 0)
        error = f"{code}: {str(first.get('title') or '')[:200]}"
    report = await record_delivery_status(tenant_id, PLUGIN, to, provider_id=str(status.get("id") or "")[:128],
                                          message_id=_reference(status), error=error)
    if report is None:
        return "status for an unknown message"
    if report.moved and report.customer_id and code == E.NOT_ON_WHATSAPP:
        await contacts.mark_unreachable(tenant_id, report.customer_id)
    if report.moved and report.customer_id and code == E.MARKETING_STOPPED:
        await stop_marketing(tenant_id, report.customer_id, ConsentSource.PROVIDER,
                             {"error": code, "message": str(report.message_id)})
    return f"{to.value}: {'moved' if report.moved else 'unchanged'}"


def _text_of(inbound: dict) -> str:
    kind = inbound.get("type")
    if kind == "text":
        return str((inbound.get("text") or {}).get("body") or "")
    if kind == "button":
        return str((inbound.get("button") or {}).get("text") or "")
    if kind == "interactive":
        reply = (inbound.get("interactive") or {})
        reply = reply.get("button_reply") or reply.get("list_reply") or {}
        return str(reply.get("title") or "")
    return ""


async def on_inbound(tenant_id: UUID, inbound: dict) -> str:
    wamid = str(inbound.get("id") or "")[:128]
    text = _text_of(inbound)[:4096]
    stored = await record_inbound(tenant_id, PLUGIN, sender=_phone(inbound.get("from")), provider_id=wamid, body=text,
                                  kind=str(inbound.get("type") or ""), received_at=_when(inbound.get("timestamp")))
    if stored is None:
        return "inbound from a non-customer: not stored"
    if not stored.stored:
        return "inbound repeated"
    word = keyword(text)
    evidence = {"wamid": wamid, "keyword": text[:40]}
    if word == "stop":
        await stop_marketing(tenant_id, stored.customer_id, ConsentSource.STOP_REPLY, evidence)
    elif word == "start":
        await resume_marketing(tenant_id, stored.customer_id, ConsentSource.STOP_REPLY, evidence)
    await contacts.mark_reachable(tenant_id, stored.customer_id)  # they wrote to us on WhatsApp
    return f"inbound stored{f' ({word})' if word else ''}"


async def on_preference(tenant_id: UUID, pref: dict) -> str:
    if pref.get("category") != "marketing_messages":
        return "preference ignored"
    customer_id = await customer_by_phone(tenant_id, _phone(pref.get("wa_id")))
    if customer_id is None:
        return "preference of a non-customer"
    evidence = {"user_preferences": pref.get("value"), "timestamp": str(pref.get("timestamp") or "")}
    if pref.get("value") == "stop":
        await stop_marketing(tenant_id, customer_id, ConsentSource.PROVIDER, evidence)
        return "marketing stopped"
    if pref.get("value") == "resume":
        await resume_marketing(tenant_id, customer_id, ConsentSource.PROVIDER, evidence)
        return "marketing resumed"
    return "preference ignored"


def routes() -> list[Route]:
    return [Route("/", verify, methods=["GET"]), Route("/", receive, methods=["POST"])]
