"""The disclosure ledger: each time a customer's personal data leaves through a plugin (a message
sent through a provider, a payment link, an export download), which provider received what
categories of data, when, and for what. The access summary lists it ("with whom shared", DPDP
s.11); ``core.privacy.disclosures`` reads it. Rows hold ids and category names, never the data."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID, uuid4

from seva_crm.core.common.security import utcnow
from seva_crm.core.models import Disclosure
from seva_crm.core.platform.plugins import get_plugins
from seva_crm.core.storage import bulk

# what a message reveals to the provider carrying it, by kind of channel
MESSAGE_CATEGORIES = {"sms": ["name", "phone", "message text"], "whatsapp": ["name", "phone", "message text"],
                      "email": ["name", "email", "message text"]}


def provider_name(plugin_id: str) -> str:
    """The plugin's name as its manifest gives it (its id if it is not loaded)."""
    loaded = get_plugins().loaded.get(plugin_id)
    return loaded.manifest.name if loaded else plugin_id


async def record(tenant_id: UUID, customer_id: UUID | None, provider: str, categories: list[str], *, subject_type: str,
                 subject_id: UUID | None = None, purpose: str = "", at: datetime | None = None,
                 recipient: str | None = None) -> Disclosure | None:
    """Add an entry for data about ``customer_id`` handed to ``provider`` (a plugin id); nothing
    for messages to staff (``customer_id`` None)."""
    if customer_id is None:
        return None
    return await Disclosure.create(tenant_id=tenant_id, customer_id=customer_id, provider=provider[:64],
                                   recipient=(recipient or provider_name(provider))[:200], categories=list(categories),
                                   purpose=purpose[:32], subject_type=subject_type, subject_id=subject_id,
                                   disclosed_at=at or utcnow())


async def record_message(tenant_id: UUID, customer_id: UUID | None, plugin_id: str, kind: str, message_id: UUID,
                         purpose: str) -> Disclosure | None:
    categories = MESSAGE_CATEGORIES.get(kind, ["name", "contact", "message text"])
    return await record(tenant_id, customer_id, plugin_id, categories, subject_type="message", subject_id=message_id,
                        purpose=purpose)


COLUMNS = ("id", "tenant_id", "customer_id", "provider", "recipient", "categories", "purpose", "subject_type", "subject_id",
           "disclosed_at", "created_at", "updated_at")


async def record_messages(sent: list[tuple[UUID, UUID | None, str, str, UUID, str]], at: datetime | None = None) -> int:
    """``record_message`` for many sent messages at once, each ``(tenant_id, customer_id, plugin_id,
    kind, message_id, purpose)``: one bulk insert, inside the caller's transaction (the outbox's
    batch of outcomes). Messages to staff (no customer) have no entry. Returns the entries written."""
    at = at or utcnow()
    names: dict[str, str] = {}
    rows = []
    for tenant_id, customer_id, plugin_id, kind, message_id, purpose in sent:
        if customer_id is None:
            continue
        if plugin_id not in names:
            names[plugin_id] = provider_name(plugin_id)[:200]
        categories = json.dumps(MESSAGE_CATEGORIES.get(kind, ["name", "contact", "message text"]))
        rows.append((uuid4(), tenant_id, customer_id, plugin_id[:64], names[plugin_id], categories, purpose[:32], "message",
                     message_id, at, at, at))
    await bulk.insert("disclosure", COLUMNS, rows)
    return len(rows)
