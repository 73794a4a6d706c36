"""A local fake messaging provider: real HTTP on loopback, with the contract real providers have.

``POST /v1/<channel>/messages`` with ``Authorization: Bearer <token>``, an ``Idempotency-Key``
header and a JSON body ``{"to": str, "body": str, "reference": str}``:

- 200 ``{"id": "<channel>-<n>", "status": "accepted"}``: a delivery. A repeat of an accepted
  idempotency key (per channel) returns the original response with ``Idempotent-Replayed: true``
  and is not a new delivery; concurrent repeats are serialised so only one can deliver.
- 401 without the right token, 400 ``invalid_payload`` for a malformed body or missing key.
- Scripted failures per recipient (``script(to, ...)``), used in order before succeeding:
  ``"rate_limited"`` (429 with Retry-After), ``"unavailable"`` (503), ``"invalid_recipient"``
  (400, permanent), ``"not_on_channel"`` (404: this channel can never reach the recipient).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAILURES = {
    "rate_limited": (429, "slow down"),
    "unavailable": (503, "try again later"),
    "invalid_recipient": (400, "the number is not valid"),
    "not_on_channel": (404, "the recipient is not on this channel"),
}


@dataclass
class Request:
    at: float
    channel: str
    key: str
    to: str
    status: int
    replayed: bool = False


@dataclass
class FakeProvider:
    token: str = "fake-provider-token"
    retry_after: float = 0.3
    requests: list[Request] = field(default_factory=list)
    deliveries: Counter = field(default_factory=Counter)  # (channel, idempotency key) -> deliveries
    accepted: dict = field(default_factory=dict)  # (channel, key) -> the response body
    scripts: dict = field(default_factory=lambda: defaultdict(list))  # (channel or "*", to) -> failures
    lock: threading.Lock = field(default_factory=threading.Lock)
    key_locks: dict = field(default_factory=lambda: defaultdict(threading.Lock))

    def start(self) -> FakeProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                status, body, headers = provider.handle(self.path, dict(self.headers.items()), raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                if not isinstance(sys.exc_info()[1], ConnectionError):  # a killed client is expected
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, to: str, *failures: str, channel: str = "*") -> None:
        assert all(f in FAILURES for f in failures), failures
        with self.lock:
            self.scripts[(channel, to)].extend(failures)

    def handle(self, path: str, headers: dict, raw: bytes) -> tuple[int, dict, dict]:
        headers = {k.lower(): v for k, v in headers.items()}
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "v1" or parts[2] != "messages":
            return 404, {"error": {"code": "no_such_route"}}, {}
        channel = parts[1]
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": {"code": "unauthorized", "message": "missing or wrong token"}}, {}
        key = headers.get("idempotency-key", "")
        try:
            payload = json.loads(raw)
            valid = (isinstance(payload, dict) and isinstance(payload.get("to"), str) and payload["to"]
                     and isinstance(payload.get("body"), str) and payload["body"].strip()
                     and isinstance(payload.get("reference"), str) and key and len(key) <= 128)
        except ValueError:
            valid = False
        if not valid:
            return 400, {"error": {"code": "invalid_payload", "message": "to, body, reference and Idempotency-Key are required"}}, {}
        to = payload["to"]
        with self.key_locks[(channel, key)]:  # one request per key at a time, as providers serialise them
            with self.lock:
                if (channel, key) in self.accepted:
                    self.requests.append(Request(time.monotonic(), channel, key, to, 200, replayed=True))
                    return 200, self.accepted[(channel, key)], {"Idempotent-Replayed": "true"}
                script = self.scripts.get((channel, to)) or self.scripts.get(("*", to))
                failure = script.pop(0) if script else None
                if failure:
                    status, message = FAILURES[failure]
                    self.requests.append(Request(time.monotonic(), channel, key, to, status))
                    extra = {"Retry-After": str(self.retry_after)} if status == 429 else {}
                    return status, {"error": {"code": failure, "message": message}}, extra
                self.deliveries[(channel, key)] += 1
                body = {"id": f"{channel}-{sum(self.deliveries.values())}", "status": "accepted"}
                self.accepted[(channel, key)] = body
                self.requests.append(Request(time.monotonic(), channel, key, to, 200))
                return 200, body, {}

    def delivered(self, key: str) -> int:
        with self.lock:
            return sum(n for (_, k), n in self.deliveries.items() if k == key)

    def tries(self, key: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.key == key]
