"""The ``whatsapp`` notification channel: the outbox's adapter for the Cloud API.

- With the customer's last inbound WhatsApp message under 24 hours old, the body goes as free
  text; otherwise the template's WhatsApp binding (``message.binding``: name, language, ordered
  parameters) goes as a template message. Without a binding outside the window, SendError
  ``fallback``: the outbox tries the next channel. A 131047 (the window closed after all) with a
  binding is answered by sending the template at once.
- A message with a document (``message.attachment``) uploads it first (``/media``), then goes as
  a ``document`` message with the body as its caption inside the window, or as the template with
  the document in its DOCUMENT header outside it.
- ``biz_opaque_callback_data`` carries our message id; the wamid becomes the message's provider id.
- Rate limits: 130429 pauses every send from that number, 131056 only to that recipient (in this
  process), and the message is retried after the pause.
- 131026 (not on WhatsApp) is remembered for the customer: later messages skip WhatsApp without a
  request. 131050 withdraws marketing consent on WhatsApp. Auth and blocked-account errors are
  logged as alerts for an operator.

The Cloud API has no idempotency key: a send that timed out after the API accepted it may be
delivered twice when retried (rare; documented in docs/messaging.md)."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from typing import Any

from seva_crm.plugin_api import (
    ConsentSource,
    OutgoingMessage,
    Recipient,
    SendError,
    SendResult,
    last_inbound_at,
    utcnow,
)
from seva_crm.plugins.whatsapp import contacts, errors as E
from seva_crm.plugins.whatsapp.client import (
    CloudApiError,
    document_payload,
    post_message,
    template_payload,
    text_payload,
    upload_media,
)
from seva_crm.plugins.whatsapp.optout import stop_marketing
from seva_crm.plugins.whatsapp.settings import WhatsAppSettings

log = logging.getLogger("seva.whatsapp")
WINDOW = timedelta(hours=24)
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
TEMPLATE_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
# (phone_number_id,) or (phone_number_id, recipient) -> monotonic time before which we do not send
_paused: dict[tuple[str, ...], float] = {}


def wa_number(phone: str) -> str:
    """E.164 (+9198...) as the Cloud API writes it (digits only)."""
    return phone.lstrip("+")


async def window_open(tenant_id, customer_id) -> bool:
    last = await last_inbound_at(tenant_id, customer_id, "whatsapp")
    return last is not None and utcnow() - last < WINDOW


MAX_PAUSED = 10_000


def _pause(key: tuple[str, ...], seconds: float) -> None:
    now = time.monotonic()
    if len(_paused) >= MAX_PAUSED:  # forget the pauses that are over
        for k in [k for k, until in _paused.items() if until <= now]:
            del _paused[k]
    _paused[key] = max(_paused.get(key, 0.0), now + seconds)


def _paused_for(*keys: tuple[str, ...]) -> float:
    now = time.monotonic()
    return max([_paused.get(k, 0.0) - now for k in keys] + [0.0])


class WhatsAppChannel:
    name = "whatsapp"
    kind = "whatsapp"
    attachments = True  # a document goes as an uploaded media id

    def can_reach(self, recipient: Recipient) -> bool:
        return bool(recipient.phone)

    def validate_binding(self, binding: dict[str, Any], variables: list[str]) -> list[tuple[str, str]]:
        """A template approved in WhatsApp Manager: ``{"name", "language", "parameters"}``, the
        parameters being our variable names in the order of its {{1}}, {{2}}, ..."""
        problems: list[tuple[str, str]] = []
        extra = set(binding) - {"name", "language", "parameters"}
        if extra:
            problems.append(("", f"unknown keys: {', '.join(sorted(extra))}"))
        if not isinstance(binding.get("name"), str) or not TEMPLATE_NAME.match(binding["name"]):
            problems.append(("name", "the template's name in WhatsApp Manager (a-z, 0-9, _)"))
        if not isinstance(binding.get("language"), str) or not TEMPLATE_LANGUAGE.match(binding["language"]):
            problems.append(("language", "a WhatsApp language code such as en, hi, bn, en_US"))
        parameters = binding.get("parameters", [])
        if not isinstance(parameters, list) or not all(isinstance(p, str) for p in parameters):
            problems.append(("parameters", "must be a list of variable names"))
        elif unknown := [p for p in parameters if p not in variables]:
            problems.append(("parameters", f"not variables of this template: {', '.join(unknown)}"))
        return problems

    def default_binding(self, template_key: str, language: str, text: str, variables: list[str]) -> dict[str, Any]:
        """A built-in template goes as ``seva_<key>`` in its language, with the parameters in the
        order that language's text uses them (register these in WhatsApp Manager, or override
        the binding)."""
        return {"name": f"seva_{template_key}", "language": language, "parameters": list(variables)}

    async def send(self, message: OutgoingMessage, settings: WhatsAppSettings) -> SendResult:
        recipient = message.recipient
        to = wa_number(recipient.phone or "")
        if recipient.customer_id is not None and await contacts.is_unreachable(message.tenant_id, recipient.customer_id):
            raise SendError(str(E.NOT_ON_WHATSAPP), "the number is not on WhatsApp (remembered)", retryable=False, fallback=True)
        wait = _paused_for((settings.phone_number_id,), (settings.phone_number_id, to))
        if wait > 0:
            raise SendError("paused", "rate limited: waiting before sending again", retryable=True, retry_after=wait)

        document = None
        if message.attachment is not None:
            attachment = message.attachment
            try:
                media_id = await upload_media(settings, attachment.content, attachment.filename, attachment.media_type)
            except CloudApiError as error:
                raise await self._error(error, message, settings, to) from None
            document = {"id": media_id, "filename": attachment.filename}
        template = self._template(message, to, document)
        if await window_open(message.tenant_id, recipient.customer_id):
            payload = (document_payload(to, document["id"], document["filename"], message.body, str(message.id))
                       if document else text_payload(to, message.body, str(message.id)))
        elif template is not None:
            payload = template
        else:
            raise SendError("no_template", "outside the 24-hour window and the template has no WhatsApp binding",
                            retryable=False, fallback=True)
        try:
            body = await post_message(settings, payload)
        except CloudApiError as error:
            if error.code == E.TEMPLATE_REQUIRED and template is not None and payload is not template:
                try:
                    body = await post_message(settings, template)
                except CloudApiError as again:
                    raise await self._error(again, message, settings, to) from None
            else:
                raise await self._error(error, message, settings, to) from None
        wamid = body["messages"][0]["id"]
        return SendResult(provider_id=wamid, detail={"type": payload["type"]})

    def _template(self, message: OutgoingMessage, to: str, document: dict[str, str] | None = None) -> dict[str, Any] | None:
        binding = message.binding or {}
        if not binding.get("name"):
            return None
        values = [str(message.variables.get(name, "")) for name in binding.get("parameters", [])]
        return template_payload(to, binding["name"], binding.get("language") or message.recipient.language,
                                values, str(message.id), document)

    async def _error(self, error: CloudApiError, message: OutgoingMessage, settings: WhatsAppSettings, to: str) -> SendError:
        code, reason = error.code, (error.message or "")[:200]
        if error.network:
            return SendError("network", reason, retryable=True)
        if code in E.ALERT:
            log.error("ALERT whatsapp error %s for tenant %s (number %s): an operator must act",
                      code, message.tenant_id, settings.phone_number_id)
        if code == E.RATE_PER_NUMBER:
            _pause((settings.phone_number_id,), E.BACKOFF_SECONDS[code])
        if code == E.RATE_PER_RECIPIENT:
            _pause((settings.phone_number_id, to), E.BACKOFF_SECONDS[code])
        if code in E.RETRYABLE:
            return SendError(str(code), reason, retryable=True, retry_after=E.BACKOFF_SECONDS.get(code))
        if code == E.NOT_ON_WHATSAPP and message.recipient.customer_id is not None:
            await contacts.mark_unreachable(message.tenant_id, message.recipient.customer_id)
        if code == E.MARKETING_STOPPED and message.recipient.customer_id is not None:
            await stop_marketing(message.tenant_id, message.recipient.customer_id, ConsentSource.PROVIDER,
                                 {"error": code, "message": str(message.id)})
        if code in E.FALLBACK:
            return SendError(str(code), reason, retryable=False, fallback=True)
        if code in E.PERMANENT or E.is_template_error(code):
            return SendError(str(code), reason, retryable=False)
        # undocumented: a server error may pass, a client error will not
        return SendError(str(code), reason, retryable=error.http_status >= 500)

