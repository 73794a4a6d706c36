"""Local fakes of MSG91 (India) and SSL Wireless (Bangladesh), for tests: real HTTP on
127.0.0.1 (uvicorn in a thread), enforcing what the real gateways enforce.

FakeMsg91 (``POST /api/v5/flow/``): the ``authkey`` header; a template registry (MSG91 template
id -> DLT template id, registered text, sender, entity); one ``varN`` per ``{#var#}``; numbers
``91`` + 10 digits starting 6-9; DND numbers refused; scripted 5xx (before or after sending).
FakeSslWireless (``POST /api/v3/send-sms``): ``api_token``, ``sid``, ``msisdn`` ``8801`` + 9
digits; a repeated ``csms_id`` returns the original answer and sends nothing; scripted 5xx.
Both record what they "sent" and post delivery reports to a URL in their own encoding."""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from seva_crm.testing.loopback import LoopbackServer

PLACEHOLDER = "{#var#}"


@dataclass
class Scripted:
    status: int
    after_work: bool


class _Server:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: list[Scripted] = []
        self._server: LoopbackServer | None = None
        self.requests = 0
        self.url = ""

    def app(self) -> Starlette:
        raise NotImplementedError

    def start(self) -> str:
        self._server = LoopbackServer(self.app(), "fake gateway")
        self.url = self._server.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def fail_next(self, times: int = 1, status: int = 503, *, after_work: bool = False) -> None:
        """Answer the next ``times`` requests with ``status``; ``after_work``: send first (the
        answer is lost after the gateway accepted, as in a timeout)."""
        with self._lock:
            self._script.extend(Scripted(status, after_work) for _ in range(times))

    def _scripted(self) -> Scripted | None:
        with self._lock:
            self.requests += 1
            return self._script.pop(0) if self._script else None


@dataclass
class Msg91Template:
    dlt_template_id: str
    text: str
    sender: str = "SEVAIN"
    entity_id: str = "1201159100000000000"


class FakeMsg91(_Server):
    def __init__(self, authkey: str = "msg91-authkey") -> None:
        super().__init__()
        self.authkey = authkey
        self.templates: dict[str, Msg91Template] = {}
        self.dnd: set[str] = set()
        self.sent: list[dict[str, Any]] = []  # {request_id, mobiles, text, template_id}
        self._ids = itertools.count(1)

    def register(self, template_id: str, text: str, **kw) -> None:
        self.templates[template_id] = Msg91Template(template_id, text, **kw)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/v5/flow/", self.flow, methods=["POST"])])

    @staticmethod
    def error(message: str, code: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"type": "error", "message": message, "code": code}, status_code=status)

    async def flow(self, request: Request) -> JSONResponse:
        scripted = self._scripted()
        if scripted and not scripted.after_work:
            return JSONResponse({"type": "error", "message": "Internal error"}, status_code=scripted.status)
        if request.headers.get("authkey") != self.authkey:
            return self.error("Authentication failure", "401", 401)
        try:
            body = json.loads(await request.body())
            template_id, recipients = body["template_id"], body["recipients"]
            assert body.get("short_url") in ("0", "1") and isinstance(recipients, list) and len(recipients) == 1
        except (ValueError, KeyError, TypeError, AssertionError):
            return self.error("Invalid request body", "400")
        template = self.templates.get(template_id)
        if template is None:
            return self.error("Template not found or not approved on DLT", "TEMPLATE_NOT_FOUND")
        recipient = recipients[0]
        mobiles = str(recipient.get("mobiles", ""))
        if not re.fullmatch(r"91[6-9]\d{9}", mobiles):
            return self.error("Invalid mobile number", "211")
        values = [recipient.get(f"var{i}") for i in range(1, template.text.count(PLACEHOLDER) + 1)]
        extra = {k for k in recipient if k.startswith("var")} - {f"var{i}" for i in range(1, len(values) + 1)}
        if any(v in (None, "") for v in values) or extra:
            return self.error("Template variables do not match the template", "TEMPLATE_VARIABLES")
        if mobiles in self.dnd:
            return self.error("Number is registered in DND (NDNC)", "DND")
        pieces = template.text.split(PLACEHOLDER)
        text = pieces[0] + "".join(str(v) + p for v, p in zip(values, pieces[1:], strict=True))
        request_id = f"3{next(self._ids):023x}"
        with self._lock:
            self.sent.append({"request_id": request_id, "mobiles": mobiles, "text": text, "template_id": template_id})
        if scripted:
            return JSONResponse({"type": "error", "message": "Gateway timeout"}, status_code=scripted.status)
        return JSONResponse({"type": "success", "message": request_id})

    async def report(self, url: str, request_id: str, number: str, status: str, desc: str = "", failed_reason: str = "",
                     client: httpx.AsyncClient | None = None) -> httpx.Response:
        """Post a delivery report as MSG91 does: form field ``data`` holding a JSON list."""
        data = [{"requestId": request_id, "report": [{"number": number, "status": status, "desc": desc,
                                                      "failedReason": failed_reason, "date": "2026-11-22 10:00:00"}]}]
        return await _post(client, url, data={"data": json.dumps(data)})


class FakeSslWireless(_Server):
    def __init__(self, api_token: str = "ssl-api-token", sid: str = "SEVABDNON") -> None:
        super().__init__()
        self.api_token, self.sid = api_token, sid
        self.answers: dict[str, dict] = {}  # csms_id -> the original answer
        self.sent: list[dict[str, Any]] = []  # {reference_id, msisdn, sms, csms_id}
        self._ids = itertools.count(1)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/v3/send-sms", self.send, methods=["POST"])])

    @staticmethod
    def failed(code: int, message: str) -> JSONResponse:
        return JSONResponse({"status": "FAILED", "status_code": code, "error_message": message, "smsinfo": []})

    async def send(self, request: Request) -> JSONResponse:
        scripted = self._scripted()
        if scripted and not scripted.after_work:
            return JSONResponse({"message": "Service Unavailable"}, status_code=scripted.status)
        try:
            body = json.loads(await request.body())
            token, sid, msisdn, sms, csms_id = (str(body[k]) for k in ("api_token", "sid", "msisdn", "sms", "csms_id"))
        except (ValueError, KeyError, TypeError):
            return self.failed(4003, "Required parameters missing")
        if token != self.api_token:
            return self.failed(4001, "Unauthorized: invalid api token")
        if sid != self.sid:
            return self.failed(4023, "Invalid SID")
        if not re.fullmatch(r"8801[3-9]\d{8}", msisdn):
            return self.failed(4025, "Invalid MSISDN")
        with self._lock:
            if csms_id in self.answers:  # a repeated csms_id: the original answer, nothing sent
                answer = self.answers[csms_id]
            else:
                reference = f"ssl-{next(self._ids):08d}"
                answer = {"status": "SUCCESS", "status_code": 200, "error_message": "", "smsinfo": [
                    {"sms_status": "SUCCESS", "status_message": "Success", "msisdn": msisdn, "sms_type": "EN",
                     "sms_body": sms, "csms_id": csms_id, "reference_id": reference}]}
                self.answers[csms_id] = answer
                self.sent.append({"reference_id": reference, "msisdn": msisdn, "sms": sms, "csms_id": csms_id})
        if scripted:
            return JSONResponse({"message": "Gateway Timeout"}, status_code=scripted.status)
        return JSONResponse(answer)

    async def report(self, url: str, csms_id: str, status: str, reason: str = "",
                     client: httpx.AsyncClient | None = None) -> httpx.Response:
        """Post a delivery report (modelled: JSON with csms_id, reference_id, msisdn, status, reason)."""
        sent = next((s for s in self.sent if s["csms_id"] == csms_id), {})
        payload = {"csms_id": csms_id, "reference_id": sent.get("reference_id", ""), "msisdn": sent.get("msisdn", ""),
                   "status": status, "reason": reason}
        return await _post(client, url, json=payload)


async def _post(client: httpx.AsyncClient | None, url: str, **kw) -> httpx.Response:
    """POST with ``client`` (e.g. an ASGI transport in tests) or a fresh one."""
    if client is not None:
        return await client.post(url, **kw)
    async with httpx.AsyncClient() as fresh:
        return await fresh.post(url, **kw)
