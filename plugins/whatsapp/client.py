"""An async client for the WhatsApp Business Cloud API's send endpoint (httpx, one connection
pool per event loop). Only what the contract documents: POST {base}/{version}/{phone_number_id}/messages
with a Bearer token and a JSON body; 200 is "accepted", anything else an ``error`` object whose
``code`` we branch on. A document is uploaded first (POST .../{phone_number_id}/media, multipart:
``messaging_product``, ``type``, ``file``), and the message names the media id it got back."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import Any

import httpx

from seva_crm.plugins.whatsapp.settings import WhatsAppSettings, instance

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> AsyncClient


@dataclass
class CloudApiError(Exception):
    """An error answer (or no answer: ``code`` 0 and ``network`` true)."""

    code: int
    message: str
    http_status: int = 0
    details: str = ""
    network: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = httpx.AsyncClient(timeout=TIMEOUT)
    return client


def messages_url(settings: WhatsAppSettings) -> str:
    return f"{instance().base_url}/{settings.api_version}/{settings.phone_number_id}/messages"


def media_url(settings: WhatsAppSettings) -> str:
    return f"{instance().base_url}/{settings.api_version}/{settings.phone_number_id}/media"


def _auth(settings: WhatsAppSettings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.access_token.get_secret_value()}"}


async def post_message(settings: WhatsAppSettings, payload: dict[str, Any]) -> dict[str, Any]:
    """Send one message payload; the 200 body (``messages[0].id`` is the wamid) or CloudApiError."""
    try:
        response = await _client().post(messages_url(settings), json=payload, headers=_auth(settings))
    except httpx.TransportError as exc:
        raise CloudApiError(0, type(exc).__name__, network=True) from None
    return _answer(response, "messages")


async def upload_media(settings: WhatsAppSettings, content: bytes, filename: str, media_type: str) -> str:
    """Upload a document for this phone number; its media id, or CloudApiError."""
    data = {"messaging_product": "whatsapp", "type": media_type}
    files = {"file": (filename, content, media_type)}
    try:
        response = await _client().post(media_url(settings), data=data, files=files, headers=_auth(settings))
    except httpx.TransportError as exc:
        raise CloudApiError(0, type(exc).__name__, network=True) from None
    return str(_answer(response, "id")["id"])


def _answer(response: httpx.Response, expected: str) -> dict[str, Any]:
    """The 200 body carrying ``expected``, or the CloudApiError the answer describes."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict) and body.get(expected):
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        # no error object: a proxy or an outage; 5xx is worth another try, the rest is not
        code = 2 if response.status_code >= 500 else -1
        raise CloudApiError(code, f"HTTP {response.status_code} without an error object", response.status_code)
    details = (error.get("error_data") or {}).get("details", "") if isinstance(error.get("error_data"), dict) else ""
    raise CloudApiError(int(error.get("code") or -1), str(error.get("message") or "")[:300], response.status_code,
                        str(details)[:300], raw=error)


def text_payload(to: str, body: str, reference: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"body": body, "preview_url": False}, "biz_opaque_callback_data": reference}


CAPTION_MAX = 1024  # a document's caption


def document_payload(to: str, media_id: str, filename: str, caption: str, reference: str) -> dict[str, Any]:
    document = {"id": media_id, "filename": filename}
    if caption.strip():
        document["caption"] = caption[:CAPTION_MAX]
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "document",
            "document": document, "biz_opaque_callback_data": reference}


def template_payload(to: str, name: str, language: str, parameters: list[str], reference: str,
                     document: dict[str, str] | None = None) -> dict[str, Any]:
    """A template message; ``document`` ({"id", "filename"}) fills a template's DOCUMENT header."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    components: list[dict[str, Any]] = []
    if document:
        components.append({"type": "header", "parameters": [{"type": "document", "document": document}]})
    if parameters:
        components.append({"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]})
    if components:
        template["components"] = components
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
            "template": template, "biz_opaque_callback_data": reference}
