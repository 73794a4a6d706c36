"""Public privacy endpoints, for data subjects without an account (``tenant``: its slug or opaque id):

    GET  /privacy/t/<slug>            the tenant's page: how to make a request, which identifier (HTML;
                                      JSON with ``Accept: application/json``)
    POST /privacy/requests            {"tenant", "phone" or "email", "type", "details", "changes"} -> 202 {"reference", "message"}
    POST /privacy/t/<slug>/requests   the same, the tenant named by the path
    POST /privacy/requests/verify     {"reference", "code"} -> 200 {"status": "verified"}
    POST /privacy/requests/resend     {"reference"} -> 202 {"message"}: a new code, to where the last went
    POST /privacy/requests/status     {"reference", "code"} -> 200 {"type", "status", "due_at", ...}
    GET  /privacy/exports/<token>     the export zip behind a signed, expiring link (each download audited)

Every answer is the same whether or not the person is known; the POSTs are rate-limited per IP
(filing per identifier, resending per reference)."""

from __future__ import annotations

import html
import json

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route

from seva_crm.core.platform import audit
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.privacy import public, requests, tenant_export
from seva_crm.core.privacy.export import open_export, record_download

MAX_BODY = 16 * 1024


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _body(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise DomainError.of(None, ErrorCode.INVALID, "request too large")
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise DomainError.of(None, ErrorCode.INVALID, "send a JSON object") from None
    if not isinstance(data, dict):
        raise DomainError.of(None, ErrorCode.INVALID, "send a JSON object")
    return data


def _error(exc: DomainError) -> JSONResponse:
    first = exc.errors[0]
    status = 429 if first.code is ErrorCode.RATE_LIMITED else 404 if first.code is ErrorCode.NOT_FOUND else 400
    return JSONResponse({"errors": [{"field": e.field, "code": e.code.value.upper(), "message": e.message} for e in exc.errors]},
                        status_code=status)


async def file_request(request: Request) -> JSONResponse:
    try:
        data = await _body(request)
        identifier = str(data.get("phone") or data.get("email") or "")
        if not identifier:
            raise DomainError.of("phone", ErrorCode.REQUIRED, "give the phone number or email the business knows you by")
        tenant = request.path_params.get("slug") or str(data.get("tenant") or "")
        reference = await requests.file_public(tenant, identifier, str(data.get("type") or ""),
                                               str(data.get("details") or ""), _ip(request), data.get("changes"))
    except DomainError as exc:
        return _error(exc)
    return JSONResponse({"reference": reference, "message": requests.PUBLIC_ANSWER}, status_code=202)


async def resend_code(request: Request) -> JSONResponse:
    try:
        data = await _body(request)
        message = await public.resend_code(str(data.get("reference") or ""), _ip(request))
    except DomainError as exc:
        return _error(exc)
    return JSONResponse({"message": message}, status_code=202)


async def request_status(request: Request) -> JSONResponse:
    try:
        data = await _body(request)
        view = await public.status(str(data.get("reference") or ""), str(data.get("code") or ""), _ip(request))
    except DomainError as exc:
        return _error(exc)
    return JSONResponse(view)


def _page_html(p: dict) -> str:
    e = html.escape
    types = "".join(f"<li><code>{e(t['type'])}</code>: answered within {t['deadline_days']} days ({e(t['citation'])})</li>"
                    for t in p["request_types"])
    contact = (f"<p>Privacy contact (grievance officer): {e(p['contact'])}</p>" if p["accepting"] else
               "<p>This business has not named its privacy contact yet: please ask at the counter.</p>")
    example = html.escape('{"tenant": "%s", "phone": "your mobile number", "type": "access", "details": ""}' % p["slug"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your data at {e(p['business'])}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 1em auto; padding: 0 1em">
<h1>Your personal data at {e(p['business'])}</h1>
<p>Under {e(p['law'])} you may ask this business about the personal data it holds about you.</p>
{contact}
<h2>How to make a request</h2>
<ol>
<li>Send <code>POST {e(p['file_url'])}</code> with a JSON body naming this business (<code>{e(p['slug'])}</code>),
{e(p['identifier'])} (<code>phone</code> or <code>email</code>), and the type of request, for example
<pre>{example}</pre>
A correction also gives <code>changes</code>: the fields and their new values.</li>
<li>We send a code to that phone or email. Confirm with <code>POST {e(p['verify_url'])}</code>:
<code>{{"reference", "code"}}</code>. No code? Ask for a new one: <code>POST {e(p['resend_url'])}</code>.</li>
<li>See where your request stands: <code>POST {e(p['status_url'])}</code> with your reference and a code.</li>
</ol>
<h2>Requests you can make</h2>
<ul>{types}</ul>
</body></html>
"""


async def tenant_page(request: Request):
    try:
        p = await public.page(request.path_params["slug"])
    except DomainError as exc:
        return _error(exc)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(p)
    return HTMLResponse(_page_html(p), headers={"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'"})


async def verify_request(request: Request) -> JSONResponse:
    try:
        data = await _body(request)
        await requests.verify_public(str(data.get("reference") or ""), str(data.get("code") or ""), _ip(request))
    except DomainError as exc:
        return _error(exc)
    return JSONResponse({"status": "verified", "message": "Thank you: your request is now with the business."})


async def download_export(request: Request):
    found = await open_export(request.path_params["token"])
    if found is None:
        return PlainTextResponse("This link is invalid or has expired.", status_code=404)
    row, path = found
    await audit.record(row.tenant_id, "privacy_request.export_downloaded", subject_type="privacy_request", subject_id=row.id,
                       details={"ip": audit.personal(_ip(request))}, actor=audit.Actor("link"))
    await record_download(row)
    return FileResponse(path, media_type="application/zip", filename="my-data.zip",
                        headers={"cache-control": "no-store", "referrer-policy": "no-referrer"})


async def download_tenant_export(request: Request):
    found = tenant_export.open_export(request.path_params["token"])
    if found is None:
        return PlainTextResponse("This link is invalid or has expired.", status_code=404)
    tenant_id, path = found
    await audit.record(tenant_id, "tenant.export_downloaded", subject_type="tenant", subject_id=tenant_id,
                       details={"ip": audit.personal(_ip(request))}, actor=audit.Actor("link"))
    return FileResponse(path, media_type="application/zip", filename="tenant-data.zip",
                        headers={"cache-control": "no-store", "referrer-policy": "no-referrer"})


routes = [
    Route("/privacy/requests", file_request, methods=["POST"]),
    Route("/privacy/requests/verify", verify_request, methods=["POST"]),
    Route("/privacy/requests/resend", resend_code, methods=["POST"]),
    Route("/privacy/requests/status", request_status, methods=["POST"]),
    Route("/privacy/t/{slug}", tenant_page, methods=["GET"]),
    Route("/privacy/t/{slug}/requests", file_request, methods=["POST"]),
    Route("/privacy/exports/{token}", download_export, methods=["GET"]),
    Route("/tenant-exports/{token}", download_tenant_export, methods=["GET"]),
]
