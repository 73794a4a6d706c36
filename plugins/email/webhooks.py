"""One-click unsubscribe (RFC 8058). Marketing mail links to ``/webhooks/email/u/TOKEN``, where
TOKEN is HMAC-signed and names the tenant, the customer and the purpose. A POST of
``List-Unsubscribe=One-Click`` (what mail providers send, and what the confirmation page's
button sends), with no login, withdraws that purpose's consent for email at once. A GET only
shows the confirmation page: link scanners fetch links, so a GET never unsubscribes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import logging
from functools import lru_cache
from uuid import UUID

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from seva_crm.plugin_api import ConsentSource, public_url, record_consent_withdrawn, signing_key, tenant_info

log = logging.getLogger("seva.email")
ONE_CLICK = "List-Unsubscribe=One-Click"
_SIG_BYTES = 16


@lru_cache(maxsize=1)
def _key() -> bytes:
    return signing_key("email-unsubscribe")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(tenant_id: UUID, customer_id: UUID, purpose: str = "marketing") -> str:
    payload = tenant_id.bytes + customer_id.bytes + purpose.encode()
    return f"{_b64(payload)}.{_b64(hmac.new(_key(), payload, hashlib.sha256).digest()[:_SIG_BYTES])}"


def read_token(token: str) -> tuple[UUID, UUID, str] | None:
    """(tenant id, customer id, purpose) from a token we signed, else None."""
    body, _, sig = token.partition(".")
    try:
        payload, signature = _unb64(body), _unb64(sig)
    except (binascii.Error, ValueError):
        return None
    if _b64(payload) != body or _b64(signature) != sig:
        return None  # only the canonical spelling (base64's spare bits would allow others)
    expected = hmac.new(_key(), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    if len(payload) <= 32 or not hmac.compare_digest(signature, expected):
        return None
    try:
        return UUID(bytes=payload[:16]), UUID(bytes=payload[16:32]), payload[32:].decode()
    except (ValueError, UnicodeDecodeError):
        return None


def unsubscribe_url(tenant_id: UUID, customer_id: UUID, purpose: str = "marketing") -> str:
    return f"{public_url()}/webhooks/email/u/{make_token(tenant_id, customer_id, purpose)}"


def _page(title: str, text: str, form: bool = False, status: int = 200) -> HTMLResponse:
    button = ('<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
              '<button type="submit">Unsubscribe</button></form>') if form else ""
    return HTMLResponse(
        f'<!doctype html><html><head><meta charset="utf-8"><meta name="robots" content="noindex">'
        f'<meta name="viewport" content="width=device-width"><title>{html.escape(title)}</title></head>'
        f'<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto">'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{button}</body></html>",
        status_code=status, headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
    )


async def unsubscribe(request: Request) -> HTMLResponse:
    parsed = read_token(request.path_params["token"])
    tenant = await tenant_info(parsed[0]) if parsed else None
    if parsed is None or tenant is None:
        return _page("Link not valid", "This unsubscribe link is not valid.", status=404)
    tenant_id, customer_id, purpose = parsed
    if request.method == "GET":
        return _page("Unsubscribe", f"Stop {purpose} emails from {tenant.name}?", form=True)

    form = await request.form()
    if form.get("List-Unsubscribe") != "One-Click":
        return _page("Not understood", f"Send {ONE_CLICK} to unsubscribe.", status=400)
    if await record_consent_withdrawn(tenant_id, customer_id, via="email", purpose=purpose, source=ConsentSource.UNSUBSCRIBE,
                                      evidence={"method": "one-click link"},
                                      ip=request.client.host if request.client else "",
                                      user_agent=request.headers.get("user-agent", "")):
        log.info("tenant %s customer %s unsubscribed from %s email", tenant_id, customer_id, purpose)
    return _page("Unsubscribed", f"You will get no more {purpose} emails from {tenant.name}.")


routes = [Route("/u/{token}", unsubscribe, methods=["GET", "POST"])]
