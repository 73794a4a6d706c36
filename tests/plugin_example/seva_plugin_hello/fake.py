"""A local fake of the Hello SMS provider, for tests: real HTTP on 127.0.0.1, enforcing what
the provider's documents say (client.py), and building the signed delivery reports it sends.

    provider = FakeHello().start()   # provider.url: point SEVA_HELLO_BASE_URL at it
    provider.sent                    # the messages it accepted: {id, to, text, reference}
    body, headers = provider.report(message_id, "delivered")
    provider.fail_next(429)          # the next request is answered 429 (or 503, ...)
    provider.stop()"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from seva_crm.testing.loopback import LoopbackServer

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
MAX_TEXT = 1600


def error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


class FakeHello:
    def __init__(self, api_key: str = "hello-api-key-1", webhook_secret: str = "hello-webhook-secret-0123") -> None:
        self.api_key, self.webhook_secret = api_key, webhook_secret
        self.sent: list[dict[str, str]] = []
        self.url = ""
        self._failures: list[int] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = LoopbackServer(Starlette(routes=[Route("/v1/messages", self.messages, methods=["POST"])]),
                                      "fake Hello SMS")

    def start(self) -> FakeHello:
        self.url = self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (429 with Retry-After, 5xx)."""
        self._failures.extend([status] * times)

    async def messages(self, request: Request) -> JSONResponse:
        if self._failures:
            status = self._failures.pop(0)
            if status == 429:
                return error(429, "rate_limited", "Too many requests", **{"retry-after": "30"})
            return error(status, "unavailable", "Service unavailable")
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return error(401, "unauthorized", "Invalid API key")
        try:
            body = json.loads(await request.body())
            to, text, reference = body["to"], body["text"], body["reference"]
        except (ValueError, KeyError, TypeError):
            return error(400, "invalid_payload", "to, text and reference are required")
        if not all(isinstance(v, str) for v in (to, text, reference)) or not 0 < len(text) <= MAX_TEXT or not reference:
            return error(400, "invalid_payload", f"text is 1 to {MAX_TEXT} characters; reference is required")
        if not E164.match(to):
            return error(400, "invalid_number", f"Cannot send to {to}")
        with self._lock:
            first = next((s for s in self.sent if s["reference"] == reference), None)
            if first is None:  # a repeated reference: the first answer, nothing sent
                first = {"id": f"hm_{next(self._ids):06d}", "to": to, "text": text, "reference": reference}
                self.sent.append(first)
        return JSONResponse({"id": first["id"]}, status_code=202)

    def report(self, message_id: str, status: str = "delivered", error: str = "") -> tuple[bytes, dict[str, str]]:
        """The delivery report the provider posts for a message: (raw body, headers), signed
        with the tenant's webhook secret as the provider does."""
        body = json.dumps({"id": message_id, "status": status, "error": error}).encode()
        signature = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"content-type": "application/json", "x-hello-signature": f"sha256={signature}"}
