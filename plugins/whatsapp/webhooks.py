"""WhatsApp webhooks, mounted under /webhooks/whatsapp/.

- GET: the subscription handshake. ``hub.mode=subscribe`` with a ``hub.verify_token`` equal (in
  constant time) to some tenant's verify token -> 200 with ``hub.challenge`` as the body; else 403.
- POST: events. The tenant is found by ``metadata.phone_number_id`` (an in-process index over the
  tenants' WhatsApp settings, rebuilt when an id is not in it, at most every few seconds), then
  ``X-Hub-Signature-256`` is checked over the raw body with that tenant's app secret in constant
  time: missing -> 401, wrong -> 403, and nothing is changed. Every tenant an envelope addresses
  must verify. Then:
  - statuses delivered / read / failed move the Message forward (``core.outbox.record_status``:
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
import time
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from tortoise.exceptions import IntegrityError

from seva_crm.core.messaging import outbox
from seva_crm.core.common.enums import ConsentSource, MessageStatus
from seva_crm.core.models import Customer, InboundMessage, Message, PluginSettings
from seva_crm.core.platform.plugin_settings import loaded_plugin, load_settings, is_enabled
from seva_crm.core.common.security import utcnow
from seva_crm.plugins.whatsapp import contacts, errors as E
from seva_crm.plugins.whatsapp.optout import keyword, resume_marketing, stop_marketing
from seva_crm.plugins.whatsapp.settings import WhatsAppSettings

log = logging.getLogger("seva.whatsapp")
PLUGIN = "whatsapp"
MAX_BODY = 3_000_000
REBUILD_EVERY = 1.0  # seconds between index rebuilds caused by unknown ids
STATUSES = {"delivered": MessageStatus.DELIVERED, "read": MessageStatus.READ, "failed": MessageStatus.FAILED}


class _Index:
    """phone_number_id -> tenant ids (two tenants should never share a number; if they do, the
    signature decides). Only a hint: each tenant's settings are read afresh and must still name
    that id, so a stale entry misroutes nothing; a miss or a stale hit rebuilds it, at most once
    per REBUILD_EVERY seconds (unknown ids cannot make us scan on every request)."""

    def __init__(self) -> None:
        self.tenants: dict[str, list[UUID]] = {}
        self.built_at = float("-inf")

    async def rebuild(self) -> None:
        rows = await PluginSettings.filter(plugin_id=PLUGIN).order_by("created_at").values_list("tenant_id", "values")
        tenants: dict[str, list[UUID]] = {}
        for tenant_id, values in rows:
            if isinstance(values, dict) and values.get("phone_number_id"):
                tenants.setdefault(str(values["phone_number_id"]), []).append(tenant_id)
        self.tenants, self.built_at = tenants, time.monotonic()

    async def candidates(self, phone_number_id: str, *, stale: bool = False) -> list[UUID]:
        if (stale or phone_number_id not in self.tenants) and time.monotonic() - self.built_at > REBUILD_EVERY:
            await self.rebuild()
        return self.tenants.get(phone_number_id, [])

    def forget(self) -> None:
        self.tenants, self.built_at = {}, float("-inf")


index = _Index()


async def tenant_settings(tenant_id: UUID) -> WhatsAppSettings | None:
    """The tenant's WhatsApp settings if the plugin is enabled for it and configured."""
    row = await PluginSettings.get_or_none(tenant_id=tenant_id, plugin_id=PLUGIN)
    loaded = loaded_plugin(PLUGIN)
    if row is None or not is_enabled(loaded, row):
        return None
    return load_settings(loaded, row)  # type: ignore[return-value]


def signature_ok(raw: bytes, header: str, app_secret: str) -> bool:
    expected = "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


async def verify(request: Request) -> Response:
    q = request.query_params
    mode, token, challenge = q.get("hub.mode", ""), q.get("hub.verify_token", ""), q.get("hub.challenge", "")
    if mode != "subscribe" or not token:
        return PlainTextResponse("forbidden", status_code=403)
    rows = await PluginSettings.filter(plugin_id=PLUGIN).values_list("values", flat=True)
    matched = False
    for values in rows:  # compare with every tenant's token, in constant time each
        stored = str((values or {}).get("verify_token") or "")
        matched |= bool(stored) and hmac.compare_digest(stored.encode(), token.encode())
    if not matched:
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
    for stale in (False, True):
        configured = []
        for tenant_id in await index.candidates(number, stale=stale):
            settings = await tenant_settings(tenant_id)
            if settings is not None and settings.phone_number_id == number:
                configured.append((tenant_id, settings))
        for tenant_id, settings in configured:
            if signature_ok(raw, header, settings.app_secret.get_secret_value()):
                return tenant_id
        if configured:
            return "bad signature"
    return None


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


async def _customer(tenant_id: UUID, wa_id: Any) -> Customer | None:
    digits = "".join(ch for ch in str(wa_id or "") if ch.isdigit())
    if not digits:
        return None
    return await Customer.get_or_none(tenant_id=tenant_id, phone=f"+{digits}", deleted_at__isnull=True)


async def _message(tenant_id: UUID, status: dict) -> Message | None:
    wamid = str(status.get("id") or "")[:128]
    found = await Message.get_or_none(tenant_id=tenant_id, provider_id=wamid) if wamid else None
    if found is None:
        try:
            ours = UUID(str(status.get("biz_opaque_callback_data") or ""))
        except ValueError:
            return None
        found = await Message.get_or_none(tenant_id=tenant_id, id=ours)
    return found


async def on_status(tenant_id: UUID, status: dict) -> str:
    to = STATUSES.get(str(status.get("status") or ""))
    if to is None:
        return "status ignored"  # sent: known from the send's answer
    message = await _message(tenant_id, status)
    if message is None:
        return "status for an unknown message"
    moved = await outbox.record_status(tenant_id, message.id, to)
    if moved and to is MessageStatus.FAILED:
        errors = status.get("errors") or [{}]
        code = int((errors[0] or {}).get("code") or 0)
        title = str((errors[0] or {}).get("title") or "")[:200]
        await Message.filter(id=message.id).update(last_error=f"whatsapp {code}: {title}")
        if message.customer_id and code == E.NOT_ON_WHATSAPP:
            await contacts.mark_unreachable(tenant_id, message.customer_id)
        if message.customer_id and code == E.MARKETING_STOPPED:
            await stop_marketing(tenant_id, message.customer_id, ConsentSource.PROVIDER, {"error": code, "message": str(message.id)})
    return f"{to.value}: {'moved' if moved else 'unchanged'}"


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
    customer = await _customer(tenant_id, inbound.get("from"))
    wamid = str(inbound.get("id") or "")[:128]
    if customer is None or not wamid:
        return "inbound from a non-customer: not stored"
    text = _text_of(inbound)[:4096]
    try:
        await InboundMessage.create(tenant_id=tenant_id, customer_id=customer.id, channel=PLUGIN, provider_id=wamid,
                                    sender=customer.phone, kind=str(inbound.get("type") or "")[:16], body=text,
                                    received_at=_when(inbound.get("timestamp")))
    except IntegrityError:
        return "inbound repeated"
    word = keyword(text)
    evidence = {"wamid": wamid, "keyword": text[:40]}
    if word == "stop":
        await stop_marketing(tenant_id, customer.id, ConsentSource.STOP_REPLY, evidence)
    elif word == "start":
        await resume_marketing(tenant_id, customer.id, ConsentSource.STOP_REPLY, evidence)
    await contacts.mark_reachable(tenant_id, customer.id)  # they wrote to us on WhatsApp
    return f"inbound stored{f' ({word})' if word else ''}"


async def on_preference(tenant_id: UUID, pref: dict) -> str:
    if pref.get("category") != "marketing_messages":
        return "preference ignored"
    customer = await _customer(tenant_id, pref.get("wa_id"))
    if customer is None:
        return "preference of a non-customer"
    evidence = {"user_preferences": pref.get("value"), "timestamp": str(pref.get("timestamp") or "")}
    if pref.get("value") == "stop":
        await stop_marketing(tenant_id, customer.id, ConsentSource.PROVIDER, evidence)
        return "marketing stopped"
    if pref.get("value") == "resume":
        await resume_marketing(tenant_id, customer.id, ConsentSource.PROVIDER, evidence)
        return "marketing resumed"
    return "preference ignored"


def routes() -> list[Route]:
    return [Route("/", verify, methods=["GET"]), Route("/", receive, methods=["POST"])]
