"""A local fake of the WhatsApp Business Cloud API, over real HTTP on loopback, enforcing the
contract in shared/integrations.md: Bearer token (190), the path's version and phone number id
(100), payload shape (100), templates registered with their language, parameter count and
category (132001 unknown name or language, 132000 wrong parameter count), the 24-hour window
for free text (131047), numbers not on WhatsApp (131026), users who stopped marketing (131050),
and scripted errors per recipient (130429, 131056, ... in order, then success). Documents: media
uploaded as multipart to ``/{phone_number_id}/media`` (``messaging_product``, ``type`` matching the
file's, a supported document type, at most 100 MB) get an id; a ``document`` message, or a template
whose DOCUMENT header it fills, must name a media id uploaded for that number (131053 otherwise).

It also builds the webhooks Meta would send, signed with the app secret
(``X-Hub-Signature-256``): statuses for accepted messages, inbound messages, ``user_preferences``;
``deliver`` posts them (optionally repeated and shuffled) to our app."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import random
import re
import sys
import threading
from email import policy as email_policy
from email.parser import BytesParser
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WINDOW_SECONDS = 24 * 3600
MESSAGES_PATH = re.compile(r"^/(v\d+\.\d+)/([^/]+)/messages$")
MEDIA_PATH = re.compile(r"^/(v\d+\.\d+)/([^/]+)/media$")
DOCUMENT_TYPES = {"text/plain", "application/pdf", "application/vnd.ms-powerpoint", "application/msword",
                  "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
DOCUMENT_MAX = 100 * 1024 * 1024
TO = re.compile(r"^\+?\d{8,15}$")
MESSAGES = {
    1: "API Unknown", 2: "API Service", 100: "Invalid parameter", 190: "Invalid OAuth access token",
    130429: "Rate limit hit", 131026: "Message undeliverable", 131047: "Re-engagement message",
    131050: "User has stopped marketing messages", 131056: "(Business Account, Consumer Account) pair rate limit hit",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation", 131053: "Media upload error",
    132012: "Parameter format does not match format in the created template", 368: "Temporarily blocked for policies violations",
}


@dataclass
class Sent:
    wamid: str
    to: str
    payload: dict
    reference: str
    at: float


@dataclass
class FakeWhatsApp:
    phone_number_id: str = "106540352242922"
    token: str = "fake-wa-token"
    app_secret: str = "fake-app-secret"
    version: str = "v21.0"
    templates: dict = field(default_factory=dict)  # (name, language) -> (parameter count, category)
    last_inbound: dict = field(default_factory=dict)  # wa_id -> unix time
    not_on_whatsapp: set = field(default_factory=set)
    stopped_marketing: set = field(default_factory=set)
    scripts: dict = field(default_factory=dict)  # wa_id -> [error codes]
    sent: list[Sent] = field(default_factory=list)
    requests: list[tuple[str, dict, int]] = field(default_factory=list)  # (wa_id, payload, error code or 0)
    media: dict = field(default_factory=dict)  # media id -> (bytes, filename, media type)
    document_headers: set = field(default_factory=set)  # (name, language) of templates with a DOCUMENT header
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # -- set-up ---------------------------------------------------------------------------
    def register(self, name: str, language: str, parameters: int, category: str = "UTILITY", *,
                 document_header: bool = False) -> None:
        self.templates[(name, language)] = (parameters, category)
        if document_header:
            self.document_headers.add((name, language))

    def script(self, to: str, *codes: int) -> None:
        with self.lock:
            self.scripts.setdefault(_wa(to), []).extend(codes)

    def start(self) -> FakeWhatsApp:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                status, body = fake.handle(self.path, dict(self.headers.items()), raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the send endpoint ----------------------------------------------------------------
    def handle(self, path: str, headers: dict, raw: bytes) -> tuple[int, dict]:
        headers = {k.lower(): v for k, v in headers.items()}
        match = MESSAGES_PATH.match(path.split("?")[0])
        if headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, 190, "Error validating access token", "OAuthException")
        media = MEDIA_PATH.match(path.split("?")[0])
        if media:
            if media.group(1) != self.version or media.group(2) != self.phone_number_id:
                return _error(400, 100, "Unsupported post request", "GraphMethodException")
            return self.upload(headers.get("content-type", ""), raw)
        if not match or match.group(1) != self.version or match.group(2) != self.phone_number_id:
            return _error(400, 100, "Unsupported post request", "GraphMethodException")
        try:
            payload = json.loads(raw)
        except ValueError:
            return _error(400, 100, "Invalid JSON")
        problem = _shape(payload)
        if problem:
            return _error(400, 100, problem)
        to = _wa(payload["to"])
        with self.lock:
            code = self._check(to, payload)
            self.requests.append((to, payload, code))
            if code:
                return _error(400, code, MESSAGES.get(code, "error"))
            wamid = f"wamid.FAKE{next(self._ids):08d}"
            self.sent.append(Sent(wamid, to, payload, str(payload.get("biz_opaque_callback_data") or ""), time.time()))
        return 200, {"messaging_product": "whatsapp", "contacts": [{"input": payload["to"], "wa_id": to}],
                     "messages": [{"id": wamid, "message_status": "accepted"}]}

    def upload(self, content_type: str, raw: bytes) -> tuple[int, dict]:
        """POST /{phone_number_id}/media: a multipart form with messaging_product, type and file."""
        if not content_type.startswith("multipart/form-data"):
            return _error(400, 100, "media upload must be multipart/form-data")
        form = BytesParser(policy=email_policy.HTTP).parsebytes(b"content-type: " + content_type.encode() + b"\r\n\r\n" + raw)
        fields: dict[str, str] = {}
        file = None
        for part in form.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "file":
                file = (part.get_payload(decode=True) or b"", part.get_filename() or "", part.get_content_type())
            elif name:
                fields[name] = (part.get_payload(decode=True) or b"").decode().strip()
        if fields.get("messaging_product") != "whatsapp":
            return _error(400, 100, "messaging_product must be whatsapp")
        if file is None or not file[0]:
            return _error(400, 100, "file is required")
        if fields.get("type") != file[2] or file[2] not in DOCUMENT_TYPES:
            return _error(400, 131053, "type must be a supported document type, the file's own")
        if len(file[0]) > DOCUMENT_MAX:
            return _error(400, 131053, "documents may be at most 100 MB")
        with self.lock:
            media_id = f"{next(self._ids) + 900000000000:015d}"
            self.media[media_id] = file
        return 200, {"id": media_id}

    def _document_ok(self, document: dict) -> bool:
        return document.get("id") in self.media

    def _check(self, to: str, payload: dict) -> int:
        script = self.scripts.get(to)
        if script:
            return script.pop(0)
        if to in self.not_on_whatsapp:
            return 131026
        if payload["type"] == "document" and not self._document_ok(payload["document"]):
            return 131053
        if payload["type"] in ("text", "document"):
            last = self.last_inbound.get(to)
            if last is None or time.time() - last > WINDOW_SECONDS:
                return 131047
            return 0
        template = payload["template"]
        registered = self.templates.get((template["name"], template["language"]["code"]))
        if registered is None:
            return 132001
        count, category = registered
        header = [p for c in template.get("components") or [] if c.get("type") == "header" for p in c.get("parameters") or []]
        if (template["name"], template["language"]["code"]) in self.document_headers:
            if len(header) != 1 or header[0].get("type") != "document":
                return 132012
            if not self._document_ok(header[0]["document"]):
                return 131053
        elif header:
            return 132012
        given = sum(len(c.get("parameters") or []) for c in template.get("components") or [] if c.get("type") == "body")
        if given != count:
            return 132000
        if category == "MARKETING" and to in self.stopped_marketing:
            return 131050
        return 0

    def tries(self, to: str) -> list[tuple[dict, int]]:
        with self.lock:
            return [(p, c) for w, p, c in self.requests if w == _wa(to)]

    # -- webhooks -------------------------------------------------------------------------
    def envelope(self, field_name: str, value: dict) -> dict:
        value = {"messaging_product": "whatsapp",
                 "metadata": {"display_phone_number": "15550000000", "phone_number_id": self.phone_number_id}, **value}
        return {"object": "whatsapp_business_account",
                "entry": [{"id": "WABA_ID", "changes": [{"field": field_name, "value": value}]}]}

    def statuses(self, sent: Sent, *names: str, error_code: int | None = None) -> list[dict]:
        events = []
        for name in names:
            status = {"id": sent.wamid, "status": name, "timestamp": str(int(time.time())), "recipient_id": sent.to,
                      "biz_opaque_callback_data": sent.reference}
            if name == "failed":
                status["errors"] = [{"code": error_code or 131000, "title": MESSAGES.get(error_code or 131000, "error")}]
            events.append(self.envelope("messages", {"statuses": [status]}))
        return events

    def customer_writes(self, wa_id: str, text: str, at: float | None = None) -> dict:
        """An inbound text: opens the fake's 24-hour window too."""
        wa_id = _wa(wa_id)
        at = time.time() if at is None else at
        with self.lock:
            self.last_inbound[wa_id] = max(at, self.last_inbound.get(wa_id, 0))
            wamid = f"wamid.IN{next(self._ids):08d}"
        return self.envelope("messages", {
            "contacts": [{"profile": {"name": "Customer"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(at)), "type": "text", "text": {"body": text}}]})

    def preference(self, wa_id: str, value: str) -> dict:
        wa_id = _wa(wa_id)
        if value == "stop":
            self.stopped_marketing.add(wa_id)
        else:
            self.stopped_marketing.discard(wa_id)
        return self.envelope("user_preferences", {"user_preferences": [
            {"wa_id": wa_id, "detail": "User requested to stop marketing messages", "category": "marketing_messages",
             "value": value, "timestamp": int(time.time())}]})

    def sign(self, event: dict, secret: str | None = None) -> tuple[bytes, dict]:
        raw = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        digest = hmac.new((secret or self.app_secret).encode(), raw, hashlib.sha256).hexdigest()
        return raw, {"content-type": "application/json", "x-hub-signature-256": f"sha256={digest}"}

    async def deliver(self, client, path: str, events: list[dict], *, repeat: int = 1, shuffle: bool = False,
                      seed: int = 7) -> list[int]:
        """POST each event, signed, ``repeat`` times, in order or shuffled (as Meta may): the statuses."""
        batch = [e for e in events for _ in range(repeat)]
        if shuffle:
            random.Random(seed).shuffle(batch)
        codes = []
        for event in batch:
            raw, headers = self.sign(event)
            codes.append((await client.post(path, content=raw, headers=headers)).status_code)
        return codes


def _wa(number: str) -> str:
    return str(number).lstrip("+")


def _error(status: int, code: int, message: str, kind: str = "OAuthException") -> tuple[int, dict]:
    return status, {"error": {"message": f"({code}) {message}", "type": kind, "code": code,
                              "error_data": {"messaging_product": "whatsapp", "details": message},
                              "fbtrace_id": "AFakeTrace"}}


def _shape(p: Any) -> str:
    """What is wrong with a send payload, or ''."""
    if not isinstance(p, dict) or p.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if p.get("recipient_type", "individual") != "individual":
        return "recipient_type must be individual"
    if not isinstance(p.get("to"), str) or not TO.match(p["to"]):
        return "to must be a phone number"
    ref = p.get("biz_opaque_callback_data")
    if ref is not None and (not isinstance(ref, str) or len(ref) > 512):
        return "biz_opaque_callback_data must be a string of at most 512 characters"
    if p.get("type") == "text":
        text = p.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("body"), str) or not text["body"].strip() \
                or len(text["body"]) > 4096 or not isinstance(text.get("preview_url", False), bool):
            return "text.body is required (at most 4096 characters)"
        return ""
    if p.get("type") == "template":
        t = p.get("template")
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not isinstance(t.get("language"), dict) \
                or not isinstance(t["language"].get("code"), str):
            return "template.name and template.language.code are required"
        for c in t.get("components") or []:
            if not isinstance(c, dict) or c.get("type") not in ("header", "body", "button"):
                return "template.components[].type must be header, body or button"
            for param in c.get("parameters") or []:
                if c["type"] == "header" and isinstance(param, dict) and param.get("type") == "document":
                    problem = _document_shape(param.get("document"))
                    if problem:
                        return problem
                    continue
                if not isinstance(param, dict) or param.get("type") != "text" or not isinstance(param.get("text"), str) \
                        or not param["text"].strip():
                    return "template parameters must be {type: text, text: non-empty}"
        return ""
    if p.get("type") == "document":
        return _document_shape(p.get("document"))
    return "type must be text, document or template"


def _document_shape(d: Any) -> str:
    if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not d["id"]:
        return "document.id (an uploaded media id) is required"
    if "filename" in d and not isinstance(d["filename"], str):
        return "document.filename must be a string"
    caption = d.get("caption")
    if caption is not None and (not isinstance(caption, str) or len(caption) > 1024):
        return "document.caption must be a string of at most 1024 characters"
    return ""
