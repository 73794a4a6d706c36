"""Conversations: each customer's messages on every channel, read, assigned and answered by staff
(core.messaging.conversations)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.feed import merged_page
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.common.paging import datetime_key
from seva_crm.core.messaging import conversations
from seva_crm.core.models import Conversation as ConversationRow
from seva_crm.core.models import Message as MessageRow
from seva_crm.schema.customers import Customer
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs
from seva_crm.schema.relay import connection, Connection, cursor_page

ORDER = datetime_key("updated_at", True)


@strawberry.enum
class Direction(Enum):
    IN = "in"
    OUT = "out"


@strawberry.type(description="One message of a conversation: from the customer (IN) or to them (OUT).")
class ConversationMessage:
    id: strawberry.ID
    direction: Direction
    channel: str | None
    body: str
    at: datetime
    status: str | None = strawberry.field(description="Of an outbound message: queued, sending, sent, delivered, read, failed")


def _message(entry) -> ConversationMessage:
    row = entry.item
    if entry.kind == "in":
        return ConversationMessage(id=strawberry.ID(to_global_id("InboundMessage", row.id)), direction=Direction.IN,
                                   channel=row.channel, body=row.body, at=row.received_at, status=None)
    return ConversationMessage(id=strawberry.ID(to_global_id("Message", row.id)), direction=Direction.OUT, channel=row.channel,
                               body=row.body, at=row.created_at, status=row.status.value)


@strawberry.type(description="A customer's thread of messages on every channel.")
class Conversation:
    @strawberry.field
    def id(self: ConversationRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Conversation", self.id))

    last_inbound_at: datetime | None
    last_read_at: datetime | None

    @strawberry.field
    async def customer(self: ConversationRow, info: Info) -> Customer | None:
        return await info.context.loaders.customer.load(self.customer_id)

    @strawberry.field
    def assignee_id(self: ConversationRow) -> strawberry.ID | None:
        return strawberry.ID(to_global_id("User", self.assignee_id)) if self.assignee_id else None

    @strawberry.field(description="Inbound messages received since it was last read")
    async def unread_count(self: ConversationRow, info: Info) -> int:
        return await info.context.loaders.conversation_unread.load(self.id)

    @strawberry.field(description="The newest message, either way (a list's preview)")
    async def last_message(self: ConversationRow, info: Info) -> ConversationMessage | None:
        entry = await info.context.loaders.conversation_last.load(self.customer_id)
        return _message(entry) if entry else None

    @strawberry.field(description="Newest first; page with after")
    async def messages(self: ConversationRow, first: int | None = 20, after: str | None = None) -> Connection[ConversationMessage]:
        entries, more = await merged_page(conversations.thread_sources(self.tenant_id, self.customer_id), first, after)
        return cursor_page([(e.cursor(), _message(e)) for e in entries], more, after is not None)


@strawberry.type
class ConversationPayload:
    conversation: Conversation | None
    errors: list[UserError]


@strawberry.type
class ConversationReplyPayload:
    message_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class ConversationQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="A customer's conversation")
    async def conversation(self, info: Info, customer_id: strawberry.ID) -> Conversation | None:
        cid = from_global_id(customer_id, "Customer")
        if not cid or not await info.context.loaders.customer.load(cid):
            return None
        return await conversations.conversation(info.context.tenant.id, cid)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="Conversations, latest activity first")
    async def conversations(self, info: Info, unread_only: bool = False, assigned_to_me: bool = False,
                            first: int | None = None, after: str | None = None) -> Connection[Conversation]:
        tenant_id = info.context.tenant.id
        qs = conversations.unread_queryset(tenant_id) if unread_only else ConversationRow.filter(tenant_id=tenant_id)
        if assigned_to_me:
            qs = qs.filter(assignee_id=info.context.principal.user_id or UUID(int=0))
        return await connection(qs, ORDER, first, after, None, None)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER),
                      description="Unread inbound messages in the conversations assigned to you")
    async def my_unread_count(self, info: Info) -> int:
        user_id = info.context.principal.user_id
        return await conversations.unread_for_agent(info.context.tenant.id, user_id) if user_id else 0


@strawberry.type
class ConversationMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def conversation_mark_read(self, info: Info, customer_id: strawberry.ID) -> ConversationPayload:
        work = conversations.mark_read(info.context.tenant, from_global_id(customer_id, "Customer"))
        return await payload(ConversationPayload, "conversation", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description="assigneeId null: unassigned")
    async def conversation_assign(self, info: Info, customer_id: strawberry.ID, assignee_id: strawberry.ID | None) -> ConversationPayload:
        user = (from_global_id(assignee_id, "User") or UUID(int=0)) if assignee_id else None
        work = conversations.assign(info.context.tenant, from_global_id(customer_id, "Customer"), user)
        return await payload(ConversationPayload, "conversation", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT),
                         description="Answer on the channel the customer last wrote on, through the outbox")
    async def conversation_reply(self, info: Info, customer_id: strawberry.ID, text: str) -> ConversationReplyPayload:
        async def work():
            message: MessageRow = await conversations.reply(info.context.tenant, from_global_id(customer_id, "Customer"), text)
            return strawberry.ID(to_global_id("Message", message.id))
        return await payload(ConversationReplyPayload, "message_id", work())
