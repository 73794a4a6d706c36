"""Public privacy endpoints, for data subjects without an account:

    POST /privacy/requests         {"tenant", "phone" or "email", "type", "details"}  -> 202 {"reference", "message"}
    POST /privacy/requests/verify  {"reference", "code"}                              -> 200 {"status": "verified"}
    GET  /privacy/exports/<token>  the export zip behind a signed, expiring link (each download audited)

Filing answers the same whether or not the person is known; both POSTs are rate-limited per IP
(and filing per identifier)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route

from seva_crm.core.platform import audit
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.privacy import requests
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
        reference = await requests.file_public(str(data.get("tenant") or ""), identifier, str(data.get("type") or ""),
                                               str(data.get("details") or ""), _ip(request))
    except DomainError as exc:
        return _error(exc)
    return JSONResponse({"reference": reference, "message": requests.PUBLIC_ANSWER}, status_code=202)


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


routes = [
    Route("/privacy/requests", file_request, methods=["POST"]),
    Route("/privacy/requests/verify", verify_request, methods=["POST"]),
    Route("/privacy/exports/{token}", download_export, methods=["GET"]),
]
