"""Delivery reports and STOP replies from the SMS gateways, mounted under /webhooks/sms/.

These gateways do not sign their callbacks, so the URL carries the tenant and a per-tenant
secret: ``/webhooks/sms/<gateway>/<tenant id>/<webhook_token>`` (delivery reports) and
``.../inbound`` (replies). The token is compared in constant time with the tenant's setting;
any mismatch (unknown tenant, other gateway, no token set) is a 404 that reveals nothing.

Reports repeat and arrive out of order: status only moves forward (``record_delivery_status``).
A failure is classified (dnd, template_mismatch, invalid_number, undelivered) into the
message's last error; DND failures and STOP replies withdraw the customer's marketing consent
for SMS in the consent ledger (service messages continue)."""

from __future__ import annotations

import json
import logging
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from seva_crm.plugin_api import (
    ConsentSource,
    MessageStatus,
    customer_by_phone,
    record_consent_withdrawn,
    record_delivery_status,
    webhook_tenants,
)

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


async def tenant_for(request: Request) -> tuple[UUID, str] | None:
    """(tenant id, gateway) when the URL names a tenant whose SMS settings hold this gateway and token."""
    gateway = request.path_params["gateway"]
    found = await webhook_tenants("sms", tenant=request.path_params["tenant"],
                                  match={"gateway": gateway, "webhook_token": request.path_params["token"]})
    return (found[0].tenant_id, gateway) if found else None


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
    tenant_id, gateway = found
    payload = await _payload(request)
    try:
        reports = list(msg91_reports(payload) if gateway == "msg91" else ssl_reports(payload))
    except (ValueError, KeyError, TypeError, AttributeError):
        return JSONResponse({"error": "malformed report"}, status_code=400)
    outcomes = [await apply_report(tenant_id, *r) for r in reports]
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
        state = {"delivered": "delivered", "dnd": "dnd"}.get(
            status, "failed" if status in ("failed", "undelivered", "rejected", "expired") else status)
        found.append(({"idempotency_key": str(entry["csms_id"])}, state, str(entry.get("reason") or entry.get("error_message") or "")))
    return found


async def apply_report(tenant_id: UUID, lookup: dict, state: str, reason: str) -> bool:
    if state == "delivered":
        report = await record_delivery_status(tenant_id, "sms", S.DELIVERED, **lookup)
        return bool(report and report.moved)
    if state not in ("failed", "dnd"):
        return False  # submitted, pending: nothing to record
    kind = "dnd" if state == "dnd" else classify_failure(reason)
    report = await record_delivery_status(tenant_id, "sms", S.FAILED, error=f"{kind}: {reason}".strip(), **lookup)
    if report is None:
        return False
    if kind == "dnd" and report.customer_id:
        await withdraw_marketing(tenant_id, report.customer_id, f"sms dnd report for message {report.message_id}")
    log.info("sms report for message %s: %s (%s)", report.message_id, state, kind)
    return report.moved


async def withdraw_marketing(tenant_id: UUID, customer_id: UUID, reference: str) -> bool:
    """Withdraw marketing consent for SMS if it is in force (repeated reports add nothing)."""
    return await record_consent_withdrawn(tenant_id, customer_id, via="sms", source=ConsentSource.STOP_REPLY,
                                          evidence={"reference": reference})


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
    tenant_id, gateway = found
    payload = await _payload(request)
    if not isinstance(payload, dict):
        return JSONResponse({"error": "malformed"}, status_code=400)
    number = str(payload.get("number") or payload.get("msisdn") or payload.get("mobile") or "")
    text = " ".join(str(payload.get("message") or payload.get("text") or payload.get("sms") or "").split()).lower()
    withdrawn = 0
    if number and text in STOP_WORDS:
        customer_id = await customer_by_phone(tenant_id, _e164(number, gateway))
        if customer_id is not None:
            withdrawn += await withdraw_marketing(tenant_id, customer_id, "sms stop reply")
    return JSONResponse({"status": "ok", "withdrawn": withdrawn})


def routes() -> list[Route]:
    return [
        Route("/{gateway}/{tenant}/{token}", delivery_report, methods=["POST"]),
        Route("/{gateway}/{tenant}/{token}/inbound", inbound, methods=["POST"]),
    ]
