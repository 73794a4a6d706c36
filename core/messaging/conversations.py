"""Conversations: a customer's messages on every channel, inbound (``InboundMessage``) threaded with
outbound (``Message``), newest first. Staff read them, mark them read, assign them to an agent and
reply. A reply goes through the outbox like any message, on the channel the customer last wrote
on: on WhatsApp within the 24-hour window it is free text, outside it the ``conversation_reply``
template (the whatsapp plugin decides, as for every message).

The ``Conversation`` row (made on the first inbound message, assignment or reply) holds the
assignee and how far it was read; unread = inbound messages received after ``last_read_at``."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

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
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.storage.transactions import transaction


async def touch_inbound(tenant_id: UUID, customer_id: UUID, at: datetime) -> None:
    """An inbound message arrived: the customer's conversation exists and knows it."""
    row, created = await Conversation.get_or_create({"last_inbound_at": at}, tenant_id=tenant_id, customer_id=customer_id)
    if not created and (row.last_inbound_at is None or row.last_inbound_at < at):
        await Conversation.filter(id=row.id).update(last_inbound_at=at, updated_at=utcnow())


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
    qs = InboundMessage.filter(tenant_id=row.tenant_id, customer_id=row.customer_id)
    return await (qs.filter(received_at__gt=row.last_read_at) if row.last_read_at else qs).count()


async def unread_for_agent(tenant_id: UUID, user_id: UUID) -> int:
    """Unread inbound messages over the conversations assigned to ``user_id``."""
    total = 0
    for row in await unread_queryset(tenant_id).filter(assignee_id=user_id):
        total += await unread_count(row)
    return total


def unread_queryset(tenant_id: UUID) -> QuerySet[Conversation]:
    return Conversation.filter(tenant_id=tenant_id).filter(
        Q(last_read_at__isnull=True, last_inbound_at__isnull=False) | Q(last_inbound_at__gt=F("last_read_at")))


async def mark_read(tenant: TenantScope, customer_id: UUID | None) -> Conversation:
    customer = await get_customer(tenant.id, customer_id, "customerId")
    row = await conversation(tenant.id, customer.id)
    row.last_read_at = utcnow()
    await row.save(update_fields=["last_read_at", "updated_at"])
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
        await events.emit(events.new_event(events.CONVERSATION_UPDATED, tenant.id, row.id, change="replied"))
    return message
