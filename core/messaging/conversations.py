"""Conversations: a customer's messages on every channel, inbound (``InboundMessage``) threaded with
outbound (``Message``), newest first. Staff read them, mark them read, assign them to an agent and
reply. A reply goes through the outbox like any message, on the channel the customer last wrote
on: on WhatsApp within the 24-hour window it is free text, outside it the ``conversation_reply``
template (the whatsapp plugin decides, as for every message).

The ``Conversation`` row (made on the first inbound message, assignment or reply) holds the
assignee and how far it was read; unread = inbound messages received after ``last_read_at``.
A page of the list costs a constant number of queries: unread counts and last messages are read
for the whole page at once (``unread_counts``, ``last_entries``; the API batches them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise import connections
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet

from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.common.feed import Entry, Source
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.validation import require_text
from seva_crm.core.customers.customers import get_customer
from seva_crm.core.messaging import outbox, templates
from seva_crm.core.models import Conversation, InboundMessage, Message, Tenant, User
from seva_crm.core.platform import audit, events
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.storage.transactions import transaction


async def touch_inbound(tenant_id: UUID, customer_id: UUID, at: datetime) -> None:
    """An inbound message arrived: the customer's conversation exists and knows it."""
    async with transaction():
        row, created = await Conversation.get_or_create({"last_inbound_at": at}, tenant_id=tenant_id, customer_id=customer_id)
        if not created and (row.last_inbound_at is None or row.last_inbound_at < at):
            await Conversation.filter(id=row.id).update(last_inbound_at=at, updated_at=utcnow())
        change_feed.record(tenant_id, ChangeType.CONVERSATION, row.id, Op.CREATED if created else Op.UPDATED)


async def conversation(tenant_id: UUID, customer_id: UUID) -> Conversation:
    row, _ = await Conversation.get_or_create(tenant_id=tenant_id, customer_id=customer_id)
    return row


def thread_sources(tenant_id: UUID, customer_id: UUID) -> list[Source]:
    """The conversation's entries: ``("out", Message)`` and ``("in", InboundMessage)``."""

    async def outbound(before: datetime | None, limit: int) -> list[Entry]:
        qs = Message.filter(tenant_id=tenant_id, customer_id=customer_id)
        qs = qs.filter(created_at__lte=before) if before else qs
        return [Entry(m.created_at, "out", str(m.id), m) for m in await qs.order_by("-created_at").limit(limit)]

    async def inbound(before: datetime | None, limit: int) -> list[Entry]:
        qs = InboundMessage.filter(tenant_id=tenant_id, customer_id=customer_id)
        qs = qs.filter(received_at__lte=before) if before else qs
        return [Entry(m.received_at, "in", str(m.id), m) for m in await qs.order_by("-received_at").limit(limit)]

    return [outbound, inbound]


async def unread_count(row: Conversation) -> int:
    return (await unread_counts(row.tenant_id, [row.id])).get(row.id, 0)


def _sql(tenant_id: UUID, ids: list[UUID]) -> tuple[Any, Callable[[int], str], list[Any]]:
    """The connection, its placeholder for the n-th parameter, and the tenant and ids bound as it
    stores them (PostgreSQL: uuid; SQLite: text)."""
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    return conn, (lambda n: f"${n}") if postgres else (lambda n: "?"), [v if postgres else str(v) for v in (tenant_id, *ids)]


async def unread_counts(tenant_id: UUID, conversation_ids: list[UUID]) -> dict[UUID, int]:
    """Unread inbound messages of each conversation, in one query (a page of the list)."""
    if not conversation_ids:
        return {}
    conn, mark, params = _sql(tenant_id, conversation_ids)
    marks = ", ".join(mark(i + 2) for i in range(len(conversation_ids)))
    rows = await conn.execute_query_dict(
        f"SELECT c.id AS id, COUNT(i.id) AS n FROM conversation c JOIN inbound_message i "
        f"ON i.tenant_id = c.tenant_id AND i.customer_id = c.customer_id WHERE c.tenant_id = {mark(1)} AND c.id IN ({marks}) "
        f"AND (c.last_read_at IS NULL OR i.received_at > c.last_read_at) GROUP BY c.id", params)
    return {UUID(str(r["id"])): int(r["n"]) for r in rows}


async def unread_for_agent(tenant_id: UUID, user_id: UUID) -> int:
    """Unread inbound messages over the conversations assigned to ``user_id`` (one query)."""
    conn, mark, params = _sql(tenant_id, [user_id])
    rows = await conn.execute_query_dict(
        f"SELECT COUNT(i.id) AS n FROM conversation c JOIN inbound_message i "
        f"ON i.tenant_id = c.tenant_id AND i.customer_id = c.customer_id WHERE c.tenant_id = {mark(1)} "
        f"AND c.assignee_id = {mark(2)} AND (c.last_read_at IS NULL OR i.received_at > c.last_read_at)", params)
    return int(rows[0]["n"]) if rows else 0


async def last_entries(tenant_id: UUID, customer_ids: list[UUID]) -> dict[UUID, Entry]:
    """The newest message, either way, of each customer's conversation: one query finds their ids
    (newest per customer and table, by a window), two read the rows."""
    if not customer_ids:
        return {}
    conn, mark, params = _sql(tenant_id, customer_ids)

    def newest(table: str, at: str, kind: str, first: int) -> str:  # first: the number of its first parameter
        marks = ", ".join(mark(first + i + 1) for i in range(len(customer_ids)))
        return (f"SELECT '{kind}' AS kind, id, customer_id, ROW_NUMBER() OVER (PARTITION BY customer_id "
                f"ORDER BY {at} DESC, id DESC) AS r FROM {table} WHERE tenant_id = {mark(first)} AND customer_id IN ({marks})")

    rows = await conn.execute_query_dict(
        f"SELECT kind, id FROM ({newest('message', 'created_at', 'out', 1)} UNION ALL "
        f"{newest('inbound_message', 'received_at', 'in', len(params) + 1)}) AS latest WHERE r = 1", params * 2)
    ids = {kind: [UUID(str(r["id"])) for r in rows if r["kind"] == kind] for kind in ("out", "in")}
    entries = [Entry(m.created_at, "out", str(m.id), m) for m in await Message.filter(tenant_id=tenant_id, id__in=ids["out"])]
    entries += [Entry(m.received_at, "in", str(m.id), m) for m in await InboundMessage.filter(tenant_id=tenant_id, id__in=ids["in"])]
    out: dict[UUID, Entry] = {}
    for entry in entries:
        customer_id = entry.item.customer_id
        if customer_id not in out or entry.key > out[customer_id].key:
            out[customer_id] = entry
    return out


def unread_queryset(tenant_id: UUID) -> QuerySet[Conversation]:
    return Conversation.filter(tenant_id=tenant_id).filter(
        Q(last_read_at__isnull=True, last_inbound_at__isnull=False) | Q(last_inbound_at__gt=F("last_read_at")))


async def mark_read(tenant: TenantScope, customer_id: UUID | None) -> Conversation:
    customer = await get_customer(tenant.id, customer_id, "customerId")
    async with transaction():
        row = await conversation(tenant.id, customer.id)
        row.last_read_at = utcnow()
        await row.save(update_fields=["last_read_at", "updated_at"])
        change_feed.record(tenant.id, ChangeType.CONVERSATION, row.id, Op.UPDATED)
        await events.emit(events.new_event(events.CONVERSATION_UPDATED, tenant.id, row.id, change="read"))
    return row


async def assign(tenant: TenantScope, customer_id: UUID | None, user_id: UUID | None) -> Conversation:
    customer = await get_customer(tenant.id, customer_id, "customerId")
    if user_id is not None and not await User.filter(id=user_id, tenant_id=tenant.id, is_active=True).exists():
        raise NotFound("staff member", "assigneeId")
    async with transaction():
        row = await conversation(tenant.id, customer.id)
        row.assignee_id = user_id
        await row.save(update_fields=["assignee_id", "updated_at"])
        change_feed.record(tenant.id, ChangeType.CONVERSATION, row.id, Op.UPDATED)
        await audit.record(tenant.id, "conversation.assigned", subject_type="customer", subject_id=customer.id,
                           changed=["assignee"], details={"assignee": str(user_id) if user_id else None})
        await events.emit(events.new_event(events.CONVERSATION_UPDATED, tenant.id, row.id, change="assigned"))
    return row


async def reply(tenant: TenantScope, customer_id: UUID | None, text: str) -> Message:
    """Answer the customer on the channel they last wrote on (else by the usual channel order),
    and mark the conversation read."""
    customer = await get_customer(tenant.id, customer_id, "customerId")
    if customer.deleted_at is not None:
        raise DomainError.of("customerId", ErrorCode.NOT_FOUND, "customer not found")
    body_text = require_text(text, "text", 1000)
    last = await InboundMessage.filter(tenant_id=tenant.id, customer_id=customer.id).order_by("-received_at").first()
    template = await templates.get_template(tenant.id, "conversation_reply")
    centre = await Tenant.filter(id=tenant.id).first().values_list("name", flat=True)
    given = {"name": customer.name, "text": body_text, "centre": centre}
    body = templates.render(template, given, customer.language.value)
    async with transaction():
        message = await outbox.queue_message(tenant.id, customer.id, purpose=Purpose.SERVICE, template=template.key, body=body,
                                             variables={k: v for k, v in given.items() if k in template.variables},
                                             only_channel=last.channel if last else None)
        row = await conversation(tenant.id, customer.id)
        row.last_read_at = utcnow()
        await row.save(update_fields=["last_read_at", "updated_at"])
        change_feed.record(tenant.id, ChangeType.CONVERSATION, row.id, Op.UPDATED)
        await events.emit(events.new_event(events.CONVERSATION_UPDATED, tenant.id, row.id, change="replied"))
    return message
