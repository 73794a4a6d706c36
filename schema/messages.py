"""The outbox as staff see it, and sending a template to a customer."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from core import messages
from core.enums import Role as CoreRole
from core.ids import to_global_id
from core.models import Message as MessageRow
from schema.customers import Customer, customer_id
from schema.enums import MessageOrder, MessagePurpose, MessageStatus
from schema.errors import UserError, payload
from schema.permissions import needs
from schema.relay import Connection, connection


@strawberry.type(description="An outbound notification: a row in the outbox, then a send through a channel.")
class Message:
    @strawberry.field
    def id(self: MessageRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Message", self.id))

    purpose: MessagePurpose
    template: str
    body: str
    channel: str | None = strawberry.field(description="The channel it went through, or is being tried")
    channels_tried: list[str] = strawberry.field(description="Channels that could not reach the customer")
    status: MessageStatus
    attempts: int
    last_error: str = strawberry.field(description="Why the last attempt failed (empty when none did)")
    next_attempt_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    async def customer(self: MessageRow, info: Info) -> Customer | None:
        return await info.context.loaders.customer.load(self.customer_id) if self.customer_id else None


@strawberry.type
class MessageSendPayload:
    message: Message | None
    errors: list[UserError]


@strawberry.type
class MessageQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="The outbox, newest first by default.")
    async def messages(
        self, info: Info, customer: strawberry.ID | None = None, status: list[MessageStatus] | None = None,
        channel: str | None = None, order_by: MessageOrder = MessageOrder.CREATED_AT_DESC,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Message]:
        f = messages.MessageFilter(statuses=list(status or []), channel=channel)
        if customer is not None:
            # an unknown or foreign id matches nothing, exactly as if it did not exist
            f.customer_id = customer_id(customer) or UUID(int=0)
        qs = messages.message_queryset(info.context.tenant.id, f)
        return await connection(qs, messages.SORTS[order_by.value], first, after, last, before)


@strawberry.type
class MessageMutation:
    @strawberry.mutation(
        permission_classes=needs(CoreRole.AGENT),
        description="Send a template to a customer through the outbox. Variables fill the template's {names}; "
        "{name} defaults to the customer's name. A marketing message goes only where the customer consented.",
    )
    async def message_send(
        self, info: Info, customer: strawberry.ID, template: str, variables: JSON | None = None,
        purpose: MessagePurpose | None = None,
    ) -> MessageSendPayload:
        work = messages.send_template(info.context.tenant, customer_id(customer), template, variables, purpose)
        return await payload(MessageSendPayload, "message", work)
