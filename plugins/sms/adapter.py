"""The ``sms`` notification channel: segments and limits, then the tenant's gateway."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import httpx

from seva_crm.plugin_api import OutgoingMessage, Recipient, SendError, SendResult
from seva_crm.plugins.sms.client import DLT_ID, GATEWAYS, PLACEHOLDER, TIMEOUT, Sms, permanent
from seva_crm.plugins.sms.segments import count_segments
from seva_crm.plugins.sms.settings import SmsSettings

STAFF_CODE_TEMPLATE = "staff_verification_code"  # Seva sends staff verification codes with this template


class SmsChannel:
    """The ``sms`` notification channel: segments and limits, then the tenant's gateway."""

    name = "sms"
    kind = "sms"
    attachments = False  # SMS carries text only: a message with a document never comes here

    def __init__(self) -> None:
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one per event loop

    def can_reach(self, recipient: Recipient) -> bool:
        return bool(recipient.phone)

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = httpx.AsyncClient(timeout=TIMEOUT)
        return client

    def validate_binding(self, binding: dict[str, Any], variables: list[str]) -> list[tuple[str, str]]:
        """An Indian DLT registration: ``{"dlt_template_id", "text", "variables"}``, the registered
        text with ``{#var#}`` for each variable, and our variable names in their order."""
        problems: list[tuple[str, str]] = []
        extra = set(binding) - {"dlt_template_id", "text", "variables"}
        if extra:
            problems.append(("", f"unknown keys: {', '.join(sorted(extra))}"))
        if not isinstance(binding.get("dlt_template_id"), str) or not DLT_ID.match(binding["dlt_template_id"]):
            problems.append(("dlt_template_id", "the DLT template id (digits)"))
        text = binding.get("text")
        if not isinstance(text, str) or not text.strip():
            problems.append(("text", f"the text as registered on DLT, with {PLACEHOLDER}"))
            text = ""
        given = binding.get("variables", [])
        if not isinstance(given, list) or not all(isinstance(v, str) for v in given):
            problems.append(("variables", "must be a list of variable names"))
            return problems
        if unknown := [v for v in given if v not in variables]:
            problems.append(("variables", f"not variables of this template: {', '.join(unknown)}"))
        if text and len(given) != text.count(PLACEHOLDER):
            problems.append(("variables", f"the text has {text.count(PLACEHOLDER)} {PLACEHOLDER}; {len(given)} variables given"))
        return problems

    def check(self, body: str, settings: SmsSettings | None) -> dict[str, Any]:
        """Queue-time: the text's segments and estimated cost; raises ``SendError('too_long')``
        over the tenant's limit (the outbox refuses the message at queue time)."""
        segments = count_segments(body)
        limit = settings.max_segments if settings else 6
        if segments.count > limit:
            raise permanent("too_long", f"{segments.count} SMS parts ({segments.encoding}); the limit is {limit}")
        return segments.as_detail(settings.price_per_segment if settings else None)

    def to_sms(self, message: OutgoingMessage, settings: SmsSettings) -> Sms:
        text, binding, variables = message.body, dict(message.binding), message.variables
        if message.template == STAFF_CODE_TEMPLATE:
            binding = binding or settings.otp_binding()
            text = settings.otp_text.replace(PLACEHOLDER, str(variables.get("code", "")), 1)
        return Sms(to=message.recipient.phone or "", text=text, key=message.idempotency_key, binding=binding,
                   variables=variables)

    async def send(self, message: OutgoingMessage, settings: SmsSettings) -> SendResult:
        if settings is None:
            raise permanent("not_configured", "the SMS plugin has no settings for this tenant")
        if message.attachment is not None:
            raise SendError("no_documents", "SMS cannot carry a document", retryable=False, fallback=True)
        gateway = GATEWAYS[settings.gateway]
        sms = self.to_sms(message, settings)
        gateway.number(sms.to)
        text = gateway.prepare(sms)
        detail = self.check(text, settings)
        result = await gateway.send(self._client(), settings, sms)
        return SendResult(result.provider_id, {**detail, **result.detail})


channel = SmsChannel()
