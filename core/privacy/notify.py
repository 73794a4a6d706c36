"""Messages the privacy engine owes people, queued in the outbox (``core.outbox.queue_message``,
service purpose): verification codes and download links to data subjects, on the channel they
chose (``only_channel``, a kind of channel: a code asked for by SMS goes by one of the tenant's
SMS channels or not at all), and alerts to a tenant's active admins and owners, by email (or SMS
for one without an email).

Each is also recorded in the audit log (kind, channel, ids: never an address or a code) and
handed to ``listen()`` blocks (a hook for tests and tools, with the queued message ids). Codes
and links live only in the message row (body and variables) on their way out: nothing personal
is logged."""

from __future__ import annotations

import hashlib
from datetime import datetime
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from seva_crm.core.platform import audit
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.common import localise
from seva_crm.core.common.enums import REGION_CURRENCY, Region, Role
from seva_crm.core.models import Customer, Tenant, User
from seva_crm.core.messaging.outbox import queue_message
from seva_crm.core.messaging.templates import get_template, render

CODE_MINUTES = 10
ALERT_TEMPLATES = {"privacy_request.overdue": "privacy_overdue", "breach.reported": "breach_reported",
                   "breach.reminder": "breach_reminder"}


@dataclass(frozen=True)
class Intent:
    kind: str  # subject_code, subject_link, admin_alert
    tenant_id: UUID
    channel: str
    address: str = ""  # the subject's phone or email (listeners only; never stored or logged)
    secret: str = ""  # the code or link
    request_id: UUID | None = None
    recipients: tuple[str, ...] = ()  # staff user ids
    data: dict[str, Any] = field(default_factory=dict)
    message_ids: tuple[UUID, ...] = ()  # the outbox messages queued


_listeners: list[Callable[[Intent], None]] = []


@contextmanager
def listen():
    """Collect what is sent while the block runs: ``with listen() as sent: ...``."""
    sent: list[Intent] = []
    _listeners.append(sent.append)
    try:
        yield sent
    finally:
        _listeners.remove(sent.append)


def _emit(intent: Intent) -> None:
    for listener in list(_listeners):
        listener(intent)


async def _queue(tenant_id: UUID, template_key: str, values: dict[str, Any], *, customer_id: UUID | None = None,
                 user_id: UUID | None = None, channel: str | None = None, key: str | None = None, secret: str = ""):
    template = await get_template(tenant_id, template_key)
    language = None
    if customer_id is not None:
        language = (await Customer.get(id=customer_id).only("id", "language")).language.value
        values = {"business": await business_name(tenant_id), **values}
    return await queue_message(tenant_id, customer_id, user_id=user_id, purpose=Purpose.SERVICE, template=template.key,
                               body=render(template, values, language), variables=values, only_channel=channel,
                               idempotency_key=key, secret=secret)


async def business_name(tenant_id: UUID) -> str:
    """The name a subject knows the business by: messages to subjects go under it."""
    return (await Tenant.get(id=tenant_id).only("id", "name")).name


async def queue_to_subject(request: Any, template: str, values: dict[str, Any], *, channel: str | None = None,
                           key: str | None = None):
    """Queue ``template`` to the subject of ``request`` in their language, under the business's name."""
    return await _queue(request.tenant_id, template, values, customer_id=request.customer_id, channel=channel, key=key)


async def queue_to_customer(tenant_id: UUID, customer_id: UUID, template: str, values: dict[str, Any], *,
                            key: str | None = None):
    """Queue ``template`` to a customer in their language, under the business's name (their usual channels)."""
    return await _queue(tenant_id, template, values, customer_id=customer_id, key=key)


async def send_subject_code(request: Any, channel: str, address: str, code: str, template: str = "privacy_code") -> None:
    """Queue a verification code to the subject of ``request``, on ``channel`` only."""
    message = await _queue(request.tenant_id, template, {"code": code, "minutes": CODE_MINUTES},
                           customer_id=request.customer_id, channel=channel, secret="code",
                           key=f"privacy-code:{request.id}:{uuid4().hex}")
    await audit.record(request.tenant_id, "notification.queued", subject_type="privacy_request", subject_id=request.id,
                       details={"kind": "subject_code", "channel": channel, "message": str(message.id)})
    _emit(Intent("subject_code", request.tenant_id, channel, address, code, request.id, message_ids=(message.id,)))


async def send_subject_link(request: Any, channel: str, address: str, url: str) -> None:
    """Queue the export download link (absolute, under ``SEVA_PUBLIC_URL``) to the subject, on
    ``channel`` only; the expiry in the subject's language and the tenant's timezone."""
    customer = await Customer.get(id=request.customer_id).only("id", "name", "language")
    expires = await local_datetime(request.tenant_id, request.export_expires_at, customer.language.value)
    message = await _queue(request.tenant_id, "privacy_export_ready", {"name": customer.name, "link": url, "expires": expires},
                           customer_id=request.customer_id, channel=channel, key=f"privacy-link:{request.id}",
                           secret="link")
    await audit.record(request.tenant_id, "notification.queued", subject_type="privacy_request", subject_id=request.id,
                       details={"kind": "subject_link", "channel": channel, "message": str(message.id)})
    _emit(Intent("subject_link", request.tenant_id, channel, address, url, request.id, message_ids=(message.id,)))


async def local_datetime(tenant_id: UUID, when: datetime | None, language: str) -> str:
    """``when`` as the subject reads it: the tenant's timezone, in the subject's language through
    the one Babel helper (``core.common.localise.moment``: Hindi and Bengali month names, Bengali
    digits; the locale is the language with the tenant's country, ``bn`` in India is ``bn_IN``)."""
    if when is None:
        return "-"
    tenant = await Tenant.get(id=tenant_id).only("id", "timezone", "region")
    return localise.moment(when, tenant.timezone, language, REGION_CURRENCY[Region(tenant.region)].value)


def _alert_values(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    due = str(data.get("due_at") or "")[:16].replace("T", " ")
    if kind == "privacy_request.overdue":
        return {"type": str(data.get("type", "")), "due_at": due, "citation": str(data.get("citation") or "the law")}
    if kind == "breach.reminder":
        return {"key": str(data.get("key", "")), "due_at": due, "citation": str(data.get("citation") or "the law")}
    owed = data.get("owed") or []
    return {"owed": ", ".join(f"{o['key']} by {str(o['due_at'])[:16].replace('T', ' ')}" if o.get("due_at") else o["key"]
                              for o in owed) or "see Seva"}


async def notify_admins(tenant_id: UUID, kind: str, subject_type: str, subject_id: object, data: dict[str, Any]) -> Intent:
    """Queue an alert to each of the tenant's active admins and owners, by email (SMS for one
    without an email). ``data`` holds ids, states and deadlines only."""
    admins = await User.filter(tenant_id=tenant_id, is_active=True, role__in=[Role.ADMIN, Role.OWNER]).order_by("id")
    template = ALERT_TEMPLATES.get(kind, "privacy_admin_alert")
    values = _alert_values(kind, data) if template != "privacy_admin_alert" else {"summary": kind}
    ids = []
    for admin in admins:
        channel = "email" if admin.email else "sms" if admin.phone else None  # a kind of channel
        if channel is None:
            continue
        key = hashlib.sha256(f"{kind}:{subject_id}:{data.get('key', '')}:{data.get('stage', '')}:{admin.id}".encode()).hexdigest()
        message = await _queue(tenant_id, template, values, user_id=admin.id, channel=channel, key=f"privacy-alert:{key[:40]}")
        ids.append(message.id)
    recipients = tuple(sorted(str(a.id) for a in admins))
    await audit.record(tenant_id, "notification.queued", subject_type=subject_type, subject_id=subject_id,
                       details={"kind": kind, "recipients": list(recipients), "messages": [str(i) for i in ids], **data})
    intent = Intent("admin_alert", tenant_id, "staff", recipients=recipients, data={"kind": kind, **data},
                    message_ids=tuple(ids))
    _emit(intent)
    return intent
