"""Hello SMS delivery reports, at ``/webhooks/hello/reports/<tenant id>``.

The provider posts ``{"id": "hm_...", "status": "delivered" | "failed", "error": "..."}`` and
signs the raw body: ``X-Hello-Signature: sha256=<hex HMAC-SHA256 under the tenant's webhook
secret>``. A report moves the message forward only; repeats and late reports change nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from seva_crm.plugin_api import MessageStatus, public_url, record_delivery_status, tenant_global_id, webhook_tenants

SIGNATURE = "x-hello-signature"
MAX_BODY = 64_000


def report_url(tenant_id: UUID) -> str:
    """The address to give Hello SMS for the tenant's delivery reports."""
    return f"{public_url()}/webhooks/hello/reports/{tenant_global_id(tenant_id)}"


def signed(secret: str, body: bytes, signature: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


async def delivery_report(request: Request) -> JSONResponse:
    found = await webhook_tenants("hello", tenant=request.path_params["tenant"])
    if not found:  # no such tenant, or it has not enabled and configured the plugin
        return JSONResponse({"error": "not found"}, status_code=404)
    [tenant] = found
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "too large"}, status_code=413)
    if not signed(tenant.settings.webhook_secret.get_secret_value(), body, request.headers.get(SIGNATURE, "")):
        return JSONResponse({"error": "bad signature"}, status_code=401)
    try:
        report = json.loads(body)
        provider_id, state, error = str(report["id"]), report["status"], str(report.get("error") or "undelivered")
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": "malformed report"}, status_code=400)
    if state == "delivered":
        result = await record_delivery_status(tenant.tenant_id, "hello", MessageStatus.DELIVERED, provider_id=provider_id)
    elif state == "failed":
        result = await record_delivery_status(tenant.tenant_id, "hello", MessageStatus.FAILED, provider_id=provider_id,
                                              error=error[:200])  # kept as "hello <error>"
    else:  # "queued", "sent": nothing to record
        result = None
    return JSONResponse({"status": "ok", "applied": bool(result and result.moved)})


def routes() -> list[Route]:
    return [Route("/reports/{tenant}", delivery_report, methods=["POST"])]
