"""The SMS gateways' HTTP APIs (MSG91, SSL Wireless), one small class each.

A gateway is one small class: ``send(client, settings, sms) -> SendResult`` raising typed
``SendError``s, and ``idempotent`` (whether the gateway dedupes on our key, which decides what
a network error or 5xx after the request left us means). Settings choose the gateway per tenant.

Failure classes (codes on ``SendError`` and in ``Message.last_error``): ``template_mismatch``,
``dnd``, ``invalid_number``, ``auth``, ``sender``, ``balance``, ``too_long`` are permanent;
``network``/``unavailable`` are retried only where the gateway is idempotent (SSL Wireless:
csms_id); for MSG91 a request that may have reached the gateway is ``unknown_outcome`` and not
retried (a retry could send the SMS twice; MSG91 has no lookup by our reference)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from seva_crm.plugin_api import SendError, SendResult
from seva_crm.plugins.sms.settings import SmsSettings

PLACEHOLDER = "{#var#}"
DLT_VARIABLE_MAX = 30  # characters per {#var#} (TRAI DLT)
DLT_ID = re.compile(r"^\d{6,30}$")
TIMEOUT = 8.0  # below the outbox's send timeout, so MSG91's unknown outcome is ours to classify


@dataclass(frozen=True)
class Sms:
    to: str  # E.164
    text: str
    key: str  # idempotency key
    binding: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)


def permanent(code: str, reason: str) -> SendError:
    return SendError(code, reason, retryable=False)


def render_dlt(binding: dict[str, Any], variables: dict[str, Any]) -> tuple[str, list[str]]:
    """The registered text with the variables in order, and the values; ``template_mismatch``
    if the binding is missing or does not fit the variables."""
    template_id, text = binding.get("dlt_template_id"), binding.get("text")
    names = binding.get("variables") or []
    if not template_id or not isinstance(text, str) or not text:
        raise permanent("template_mismatch", "no DLT template is bound to this message (India needs one)")
    if text.count(PLACEHOLDER) != len(names):
        raise permanent("template_mismatch", f"the DLT text has {text.count(PLACEHOLDER)} variables, the binding names {len(names)}")
    values = []
    for name in names:
        if variables.get(name) in (None, ""):
            raise permanent("template_mismatch", f"variable {name!r} has no value")
        value = str(variables[name])
        if len(value) > DLT_VARIABLE_MAX:
            raise permanent("template_mismatch", f"variable {name!r} is longer than {DLT_VARIABLE_MAX} characters")
        values.append(value)
    pieces = text.split(PLACEHOLDER)
    rendered = pieces[0] + "".join(v + p for v, p in zip(values, pieces[1:], strict=True))
    return rendered, values


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


class Gateway:
    name: ClassVar[str]
    idempotent: ClassVar[bool]
    country_code: ClassVar[str]

    def number(self, e164: str) -> str:
        digits = e164.lstrip("+")
        if not (e164.startswith("+") and digits.isdigit() and digits.startswith(self.country_code)):
            raise permanent("invalid_number", f"{self.name} sends to +{self.country_code} numbers only")
        return digits

    def prepare(self, sms: Sms) -> str:
        """The text that will be sent (checked before any request)."""
        return sms.text

    async def send(self, client: httpx.AsyncClient, settings: SmsSettings, sms: Sms) -> SendResult:
        raise NotImplementedError

    async def post(self, client: httpx.AsyncClient, url: str, **kw) -> httpx.Response:
        try:
            response = await client.post(url, **kw)
        except httpx.ConnectError as exc:  # nothing reached the gateway: always safe to retry
            raise SendError("network", type(exc).__name__, retryable=True) from None
        except httpx.TransportError as exc:
            raise self.lost("network", type(exc).__name__) from None
        if response.status_code >= 500:
            raise self.lost("unavailable", f"HTTP {response.status_code}")
        return response

    def lost(self, code: str, reason: str) -> SendError:
        """The request may have reached the gateway and the answer is lost."""
        if self.idempotent:
            return SendError(code, reason, retryable=True)
        return permanent("unknown_outcome", f"{reason} after the request was sent; not retried, it may have been delivered")


class Msg91(Gateway):
    """India: MSG91 flow API with a DLT template (sender and DLT entity are bound to the
    template at MSG91; the text must be the registered one)."""

    name, idempotent, country_code = "msg91", False, "91"
    ERRORS = {  # MSG91 error codes and message keywords -> our class (modelled; see docs/messaging.md)
        "dnd": ("dnd", "ndnc"), "invalid_number": ("invalid mobile", "invalid number"),
        "template_mismatch": ("template",), "auth": ("authentication", "authkey"), "balance": ("balance",),
    }

    def prepare(self, sms: Sms) -> str:
        rendered, _ = render_dlt(sms.binding, sms.variables)
        if not _same_text(rendered, sms.text):
            raise permanent("template_mismatch", "the text differs from the registered DLT template")
        return rendered

    async def send(self, client, settings, sms):
        _, values = render_dlt(sms.binding, sms.variables)
        recipient = {"mobiles": self.number(sms.to), **{f"var{i}": v for i, v in enumerate(values, 1)}}
        body = {"template_id": sms.binding.get("msg91_template_id") or sms.binding["dlt_template_id"],
                "short_url": "0", "recipients": [recipient]}
        response = await self.post(client, f"{settings.url}/api/v5/flow/", json=body,
                                   headers={"authkey": settings.api_token.get_secret_value()})
        try:
            answer = response.json()
        except ValueError:
            raise self.lost("unknown_outcome", f"unreadable answer (HTTP {response.status_code})") from None
        if answer.get("type") == "success" and answer.get("message"):
            return SendResult(provider_id=str(answer["message"]), detail={"gateway": self.name})
        code, message = str(answer.get("code", response.status_code)), str(answer.get("message", ""))
        raise permanent(classify(message, code, self.ERRORS), f"MSG91 {code}: {message}"[:300])


class SslWireless(Gateway):
    """Bangladesh: SSL Wireless SMS Plus v3; csms_id (our idempotency key) is unique per
    account, so a resend after a lost answer is not a second SMS."""

    name, idempotent, country_code = "sslwireless", True, "880"
    ERRORS = {"auth": ("4001", "unauthori", "token"), "sender": ("4022", "4023", "sid"),
              "invalid_number": ("4025", "msisdn", "invalid number"), "balance": ("4026", "balance"),
              "dnd": ("dnd", "blocked")}

    async def send(self, client, settings, sms):
        body = {"api_token": settings.api_token.get_secret_value(), "sid": settings.sender,
                "msisdn": self.number(sms.to), "sms": sms.text, "csms_id": sms.key}
        response = await self.post(client, f"{settings.url}/api/v3/send-sms", json=body)
        try:
            answer = response.json()
        except ValueError:
            raise self.lost("unavailable", f"unreadable answer (HTTP {response.status_code})") from None
        info = (answer.get("smsinfo") or [{}])[0] if isinstance(answer.get("smsinfo"), list) else {}
        if str(answer.get("status", "")).upper() == "SUCCESS" and str(info.get("sms_status", "SUCCESS")).upper() == "SUCCESS":
            reference = info.get("reference_id") or info.get("csms_id") or sms.key
            return SendResult(provider_id=str(reference), detail={"gateway": self.name, "csms_id": sms.key})
        code = str(answer.get("status_code", response.status_code))
        message = str(answer.get("error_message") or info.get("status_message") or "")
        raise permanent(classify(message, code, self.ERRORS), f"SSL Wireless {code}: {message}"[:300])


def classify(message: str, code: str, table: dict[str, tuple[str, ...]]) -> str:
    text = f"{code} {message}".lower()
    for kind, needles in table.items():
        if any(n in text for n in needles):
            return kind
    return "rejected"


GATEWAYS: dict[str, Gateway] = {g.name: g for g in (Msg91(), SslWireless())}
