"""An async client for the WhatsApp Business Cloud API's send endpoint (httpx, one connection
pool per event loop). Only what the contract documents: POST {base}/{version}/{phone_number_id}/messages
with a Bearer token and a JSON body; 200 is "accepted", anything else an ``error`` object whose
``code`` we branch on."""

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


async def post_message(settings: WhatsAppSettings, payload: dict[str, Any]) -> dict[str, Any]:
    """Send one message payload; the 200 body (``messages[0].id`` is the wamid) or CloudApiError."""
    headers = {"Authorization": f"Bearer {settings.access_token.get_secret_value()}"}
    try:
        response = await _client().post(messages_url(settings), json=payload, headers=headers)
    except httpx.TransportError as exc:
        raise CloudApiError(0, type(exc).__name__, network=True) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict) and body.get("messages"):
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


def template_payload(to: str, name: str, language: str, parameters: list[str], reference: str) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        template["components"] = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}]
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
            "template": template, "biz_opaque_callback_data": reference}
