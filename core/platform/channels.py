"""The contract between the outbox and a notification channel (WhatsApp, SMS, email, ...).

A plugin returns channel adapters from ``seva_notification_channels``; the outbox picks one per
message and awaits ``send``. Adapters are stateless: per-tenant configuration arrives as the
plugin's validated settings (secrets decrypted) on each call.

A channel is known by its id, the ``name`` its adapter declares (at most 32 characters, unique
among the loaded plugins: the first loaded wins). Customers' preferred channels, a tenant's
channel order and template bindings name channels by id. Its ``kind`` says what sort of channel
it is: ``"sms"``, ``"whatsapp"``, ``"email"``, or, for something new, the channel's own id (the
default when an adapter declares none). Consent is given and withdrawn per kind: consent for
kind ``"sms"`` covers every channel of kind ``"sms"`` (the built-in SMS plugin's and a partner's
SMS gateway alike), and a STOP on one of them withdraws it for all of them. Core asks for a
channel by kind where any of that sort will do (a code to a phone goes by a channel of kind
``"sms"``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID


class Purpose(StrEnum):
    SERVICE = "service"  # bills, receipts, OTPs, reminders the customer asked for: no consent needed
    MARKETING = "marketing"  # needs the customer's consent for the channel


@dataclass(frozen=True)
class Recipient:
    customer_id: UUID | None
    name: str
    phone: str | None  # E.164
    email: str | None
    language: str


@dataclass(frozen=True)
class Attachment:
    """A document sent with a message (an invoice's PDF). Rendered when the message is sent, never
    stored in the outbox as bytes; a channel must not log ``content``."""

    content: bytes = field(repr=False)
    filename: str
    media_type: str  # e.g. "application/pdf"


@dataclass(frozen=True)
class OutgoingMessage:
    id: UUID
    tenant_id: UUID
    channel: str
    purpose: Purpose
    template: str
    body: str
    variables: dict[str, Any]
    recipient: Recipient
    idempotency_key: str  # stable across retries: pass it to providers that dedupe on one
    attempt: int = 1
    # The template's binding for this channel and the recipient's language, as the tenant set it
    # up with the provider: e.g. {"name": "bill_due", "language": "hi", "parameters": [...]} for a
    # WhatsApp template, {"dlt_template_id": "...", "text": "..."} for Indian DLT SMS. Empty when
    # the template has none for this channel (the adapter then sends ``body`` if it can).
    binding: dict[str, Any] = field(default_factory=dict)
    # A document to send with the body: only to channels that declare ``attachments = True``
    # (the outbox never gives one to another channel).
    attachment: Attachment | None = None


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    detail: dict[str, Any] = field(default_factory=dict)


class SendError(Exception):
    """A failed send. ``retryable``: try the same channel again later (after ``retry_after``
    seconds if the provider said so). ``fallback``: this channel can never reach the recipient
    (e.g. not on WhatsApp), so the outbox may try the next channel."""

    def __init__(self, code: str, reason: str, *, retryable: bool, fallback: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason
        self.retryable, self.fallback, self.retry_after = retryable, fallback, retry_after


MAX_CHANNEL_ID = 32


class NotificationChannel(Protocol):
    name: str  # the channel's id: "whatsapp", "sms", "email", or a plugin's own (at most 32 characters)
    kind: str  # optional: "sms", "whatsapp", "email", ...; consent is per kind (default: ``name``)

    def can_reach(self, recipient: Recipient) -> bool:
        """Whether this channel has an address for the recipient (a phone, an email)."""

    async def send(self, message: OutgoingMessage, settings: Any) -> SendResult:
        """Deliver one message to the provider. Raise SendError on failure."""

    # Optional: ``attachments = True``: the channel sends ``message.attachment`` (a document) with
    # the body. A message with an attachment goes only on channels that declare it.
    # Optional: ``check(body, settings) -> dict`` at queue time: facts about the text on this
    # channel (stored in ``Message.detail[name]``), or SendError if the channel can never carry
    # it (e.g. an SMS over the tenant's segment limit). The outbox refuses the message when every
    # channel of the tenant that checks refuses it.
    # Optional: ``settings_when_unconfigured() -> settings | None``, what to send with for a
    # tenant that enabled the plugin without configuring it (None: the channel is unavailable).
    # Optional: ``validate_binding(binding, variables) -> list[tuple[str, str]]``: the problems of
    # a tenant's template binding for this channel (``MessageTemplate.bindings[id][language]``),
    # each as (path inside the binding, "" for the whole; message). ``variables`` are the
    # template's variable names. Without it, any JSON object is accepted as a binding.
    # Optional: ``default_binding(template_key, language, text, variables) -> dict | None``: the
    # binding a built-in template (one the tenant has not overridden) uses on this channel, e.g.
    # a WhatsApp template name derived from the key. None: no binding (the adapter sends ``body``).


def carries_attachments(adapter: Any) -> bool:
    """Whether the adapter sends documents (``attachments = True``)."""
    return getattr(adapter, "attachments", False) is True


def channel_kind(adapter: Any) -> str:
    """The adapter's ``kind``, or its id if it declares none."""
    return getattr(adapter, "kind", None) or adapter.name
