"""The Hello SMS provider's HTTP API, as its documents describe it, and its errors mapped to
``SendError``.

``POST {base_url}/v1/messages`` with ``Authorization: Bearer <api key>`` and the JSON body
``{"to": "+919876543210", "text": "...", "reference": "<our idempotency key>"}``:

- 202 ``{"id": "hm_..."}``: accepted. A repeated ``reference`` gets the first answer and sends
  nothing, so resending after a lost answer is safe.
- 400 ``{"error": {"code": "invalid_number" | "invalid_payload", "message": "..."}}``
- 401 ``{"error": {"code": "unauthorized", "message": "..."}}``
- 429 ``{"error": {"code": "rate_limited", "message": "..."}}`` and ``Retry-After`` (seconds)
- 5xx: the provider is down for now."""

from __future__ import annotations

import httpx

from seva_crm.plugin_api import SendError

TIMEOUT = 8.0  # seconds: below the outbox's send timeout


async def send_sms(base_url: str, api_key: str, *, to: str, text: str, reference: str) -> str:
    """Send one SMS; returns the provider's id for it, or raises ``SendError``."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            response = await http.post(f"{base_url}/v1/messages", headers={"authorization": f"Bearer {api_key}"},
                                       json={"to": to, "text": text, "reference": reference})
    except httpx.TransportError as exc:  # safe to retry: the provider deduplicates on reference
        raise SendError("network", type(exc).__name__, retryable=True) from None
    if response.status_code == 202:
        return str(response.json()["id"])
    raise error_for(response)


def error_for(response: httpx.Response) -> SendError:
    """The provider's documented errors as ``SendError``s. The reasons are ours: the provider's
    message may quote the number, and a reason must hold no personal data."""
    status = response.status_code
    if status >= 500:
        return SendError("unavailable", f"HTTP {status}", retryable=True)
    try:
        code = str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        code = ""
    if status == 429:
        retry_after = response.headers.get("retry-after", "")
        return SendError("rate_limited", "the provider asked us to slow down", retryable=True,
                         retry_after=float(retry_after) if retry_after.isdigit() else None)
    if status == 401:
        return SendError("auth", "the provider refused the API key", retryable=False)
    if code == "invalid_number":  # this channel can never reach the number: try the next channel
        return SendError("invalid_number", "the provider cannot send to this number", retryable=False, fallback=True)
    return SendError(code or "rejected", f"the provider refused the message (HTTP {status})", retryable=False)
