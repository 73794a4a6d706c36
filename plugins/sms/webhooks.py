"""Delivery reports and STOP replies from the SMS gateways, mounted under /webhooks/sms/.

These gateways do not sign their callbacks, so the URL carries the tenant and a per-tenant
secret: ``/webhooks/sms/<gateway>/<tenant id>/<webhook_token>`` (delivery reports) and
``.../inbound`` (replies). The token is compared in constant time with the tenant's setting;
any mismatch (unknown tenant, other gateway, no token set) is a 404 that reveals nothing.

Reports repeat and arrive out of order: status only moves forward (core.outbox.advance). A
failure is classified (dnd, template_mismatch, invalid_number, undelivered) into
``Message.last_error``; DND failures and STOP replies withdraw the customer's marketing consent
for SMS in the consent ledger (service messages continue)."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from seva_crm.core.common.enums import ConsentSource, MessageStatus
from seva_crm.core.common.errors import DomainError
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.models import Customer, Message, Tenant
from seva_crm.core.messaging.outbox import advance
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.privacy.consent import has_consent, withdraw
from seva_crm.core.common.security import utcnow
from seva_crm.core.platform.tenant_plugins import enabled_plugins, plugin_config

log = logging.getLogger("seva.sms")
S = MessageStatus
MAX_BODY = 256_000
STOP_WORDS = {"stop", "unsubscribe", "stop all", "stopall", "cancel", "end", "quit",
              "बंद", "रोकें", "बंद करें", "বন্ধ", "বন্ধ করুন"}

# MSG91 report status codes (modelled on MSG91's documented DLR codes): 1 delivered, 2 failed,
# 9 NDNC (DND), 16 rejected, 17 blocked, 25 rejected by the operator; 8 submitted/pending.
MSG91_STATUS = {"1": "delivered", "2": "failed", "9": "dnd", "16": "failed", "17": "dnd", "25": "failed"}


def classify_failure(*texts: str) -> str:
    text = " ".join(t for t in texts if t).lower()
    if any(w in text for w in ("dnd", "ndnc", "do not disturb", "blocked", "opt")):
        return "dnd"
    if "template" in text or "dlt" in text or "scrub" in text:
        return "template_mismatch"
    if "invalid" in text or "absent" in text or "not exist" in text:
        return "invalid_number"
    return "undelivered"


async def tenant_for(request: Request) -> tuple[Tenant, str] | None:
    gateway = request.path_params["gateway"]
    tenant_id = from_global_id(request.path_params["tenant"], "Tenant")
    if tenant_id is None or "sms" not in await enabled_plugins(tenant_id):
        return None
    settings = await plugin_config(tenant_id, "sms")
    token = settings.webhook_token.get_secret_value() if settings and settings.webhook_token else ""
    given = request.path_params["token"]
    if not (token and settings.gateway == gateway and hmac.compare_digest(given.encode(), token.encode())):
        return None
    tenant = await Tenant.get_or_none(id=tenant_id)
    return (tenant, gateway) if tenant else None


async def _payload(request: Request) -> dict[str, Any] | list | None:
    body = await request.body()
    if len(body) > MAX_BODY:
        return None
    kind = request.headers.get("content-type", "")
    try:
        if "json" in kind:
            return json.loads(body)
        form = await request.form()
        return {k: str(v) for k, v in form.items()}
    except (ValueError, UnicodeDecodeError):
        return None


async def delivery_report(request: Request) -> Response:
    found = await tenant_for(request)
    if found is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    tenant, gateway = found
    payload = await _payload(request)
    try:
        reports = list(msg91_reports(payload) if gateway == "msg91" else ssl_reports(payload))
    except (ValueError, KeyError, TypeError, AttributeError):
        return JSONResponse({"error": "malformed report"}, status_code=400)
    outcomes = [await apply_report(tenant, *r) for r in reports]
    return JSONResponse({"status": "ok", "applied": sum(outcomes)})


def msg91_reports(payload) -> list[tuple[dict, str, str]]:
    """(lookup, outcome, reason) per report: form field ``data`` = JSON [{requestId, report: [...]}]."""
    items = json.loads(payload["data"]) if isinstance(payload, dict) and "data" in payload else payload
    found = []
    for item in items:
        for entry in item.get("report") or []:
            state = MSG91_STATUS.get(str(entry.get("status", "")).strip(), str(entry.get("status", "")).lower())
            reason = f"{entry.get('desc', '')} {entry.get('failedReason', '')}".strip()
            found.append(({"provider_id": str(item["requestId"])}, state, reason))
    return found


def ssl_reports(payload) -> list[tuple[dict, str, str]]:
    """Modelled: one report per callback, JSON or form, with ``csms_id`` (our idempotency key),
    ``reference_id``, ``status`` (DELIVERED, FAILED, UNDELIVERED, REJECTED, DND) and ``reason``."""
    entries = payload if isinstance(payload, list) else [payload]
    found = []
    for entry in entries:
        status = str(entry["status"]).strip().lower()
        state = {"delivered": "delivered", "dnd": "dnd"}.get(status, "failed" if status in ("failed", "undelivered", "rejected", "expired") else status)
        found.append(({"idempotency_key": str(entry["csms_id"])}, state, str(entry.get("reason") or entry.get("error_message") or "")))
    return found


async def apply_report(tenant: Tenant, lookup: dict, state: str, reason: str) -> bool:
    message = await Message.get_or_none(tenant_id=tenant.id, **lookup)
    if message is None or message.channel != "sms":
        return False
    if state == "delivered":
        return await advance(message.id, S.DELIVERED, delivered_at=utcnow())
    if state not in ("failed", "dnd"):
        return False  # submitted, pending: nothing to record
    kind = "dnd" if state == "dnd" else classify_failure(reason)
    moved = await advance(message.id, S.FAILED, failed_at=utcnow(), last_error=f"sms {kind}: {reason}".strip()[:2000])
    if kind == "dnd" and message.customer_id:
        await withdraw_marketing(tenant, message.customer_id, f"sms dnd report for message {message.id}")
    log.info("sms report for message %s: %s (%s)", message.id, state, kind)
    return moved


async def withdraw_marketing(tenant: Tenant, customer_id: UUID, reference: str) -> bool:
    """Withdraw marketing consent for SMS if it is in force (repeated reports add nothing)."""
    if not await has_consent(tenant.id, customer_id, "marketing", "sms"):
        return False
    try:
        await withdraw(TenantScope(tenant.id, tenant.region), customer_id, "marketing", "sms",
                       source=ConsentSource.STOP_REPLY, evidence={"reference": reference})
    except DomainError as exc:
        log.warning("could not withdraw marketing consent for customer %s: %s", customer_id, exc)
        return False
    return True


def _e164(number: str, gateway: str) -> str:
    digits = "".join(c for c in number if c.isdigit())
    prefix = "91" if gateway == "msg91" else "880"
    if not digits.startswith(prefix):
        digits = prefix + digits.lstrip("0")
    return f"+{digits}"


async def inbound(request: Request) -> Response:
    """A reply from a customer; STOP (and its Hindi and Bengali equivalents) withdraws marketing
    consent for SMS. Modelled fields: number/msisdn/mobile and message/text/sms."""
    found = await tenant_for(request)
    if found is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    tenant, gateway = found
    payload = await _payload(request)
    if not isinstance(payload, dict):
        return JSONResponse({"error": "malformed"}, status_code=400)
    number = str(payload.get("number") or payload.get("msisdn") or payload.get("mobile") or "")
    text = " ".join(str(payload.get("message") or payload.get("text") or payload.get("sms") or "").split()).lower()
    withdrawn = 0
    if number and text in STOP_WORDS:
        for customer in await Customer.filter(tenant_id=tenant.id, phone=_e164(number, gateway), deleted_at=None).only("id"):
            withdrawn += await withdraw_marketing(tenant, customer.id, "sms stop reply")
    return JSONResponse({"status": "ok", "withdrawn": withdrawn})


def routes() -> list[Route]:
    return [
        Route("/{gateway}/{tenant}/{token}", delivery_report, methods=["POST"]),
        Route("/{gateway}/{tenant}/{token}/inbound", inbound, methods=["POST"]),
    ]
