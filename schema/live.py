"""Live updates: GraphQL subscriptions over WebSocket (graphql-transport-ws) at /graphql.

The client sends its token in ``connection_init``'s payload (``{"authorization": "Bearer ..."}``);
it is checked as on HTTP (``authenticate``: the session, user and tenant as they are now) and
checked again before each event is sent and every ``RECHECK_SECONDS`` while none come, so a
revoked session, a deactivated user or a closed tenant has its socket closed with 4403. Events
come from ``core.platform.pubsub`` (every process's committed events, through Redis when set),
only the caller's tenant's. See docs/events.md."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry import Info
from strawberry.exceptions import ConnectionRejectionError
from strawberry.scalars import JSON

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.errors import DomainError
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.identity.auth import authenticate
from seva_crm.core.models import Message as MessageRow
from seva_crm.core.models import Payment as PaymentRow
from seva_crm.core.platform import pubsub
from seva_crm.schema.billing import Payment
from seva_crm.schema.messages import Message
from seva_crm.schema.permissions import needs

RECHECK_SECONDS = 30.0
FORBIDDEN = 4403


async def connect(context: Any) -> None:
    """``on_ws_connect``: sign the socket in with the token of ``connection_init``, or refuse it (4403)."""
    params = context.connection_params or {}
    header = params.get("authorization") or params.get("Authorization")
    if not isinstance(header, str):
        raise ConnectionRejectionError()
    try:
        principal = await authenticate(header, ip=context.client_ip)
    except DomainError:
        raise ConnectionRejectionError() from None
    if principal is None or principal.tenant is None:
        raise ConnectionRejectionError()
    context.sign_in(principal, header)


async def still_allowed(context: Any) -> bool:
    """The socket's token, checked again as it is now (a revoked session, a deactivated user)."""
    try:
        principal = await authenticate(context.authorization, ip=context.client_ip)
    except DomainError:
        return False
    return principal is not None and principal.tenant is not None and principal.tenant.id == context.tenant.id


async def watch(info: Info, wanted: Callable[[dict[str, Any]], bool]) -> AsyncGenerator[dict[str, Any], None]:
    """The tenant's live events that ``wanted`` accepts, while the caller stays allowed."""
    context = info.context
    async with pubsub.subscribe(context.tenant.id) as queue:
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), timeout=RECHECK_SECONDS)
            except TimeoutError:
                message = None
            if not await still_allowed(context):
                await context.request.close(code=FORBIDDEN, reason="Forbidden")
                return
            if message is not None and wanted(message):
                yield message


def _types(types: list[str] | None) -> Callable[[dict[str, Any]], bool]:
    names = {t for t in types or [] if not t.endswith(".*")}
    families = {t[:-2] for t in types or [] if t.endswith(".*")}
    return lambda m: not types or m["type"] in names or m["type"].split(".", 1)[0] in families


@strawberry.type(description="Something that happened in the tenant: the event's type, the object's id, ids and states")
class LiveEvent:
    type: str = strawberry.field(description="payment.recorded, message.status_changed, ticket.updated, ...")
    id: str = strawberry.field(description="The id of the object it is about (a UUID)")
    timestamp: datetime | None
    data: JSON = strawberry.field(description="Ids and states only, as outbound webhooks carry")


@strawberry.type
class MessageStatusEvent:
    status: str = strawberry.field(description="sent, delivered, read or failed")
    message: Message | None = strawberry.field(description="The message as it is now")


@strawberry.type
class PaymentEvent:
    type: str = strawberry.field(description="payment.recorded or payment.refunded")
    payment: Payment | None


def _event(message: dict[str, Any]) -> LiveEvent:
    return LiveEvent(type=message["type"], id=message["id"], timestamp=pubsub.timestamp_of(message), data=message["data"])


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(permission_classes=needs(CoreRole.VIEWER), description=(
        "The tenant's events as they happen: names or families (payment.*, ticket.*); none: every event"))
    async def events(self, info: Info, types: list[str] | None = None) -> AsyncGenerator[LiveEvent, None]:
        async for message in watch(info, _types(types)):
            yield _event(message)

    @strawberry.subscription(permission_classes=needs(CoreRole.VIEWER),
                             description="Messages moving to sent, delivered, read or failed; optionally one customer's")
    async def message_status(self, info: Info, customer_id: strawberry.ID | None = None) -> AsyncGenerator[MessageStatusEvent, None]:
        only = from_global_id(customer_id, "Customer") if customer_id else None
        if customer_id and only is None:
            return
        async for message in watch(info, _types(["message.status_changed"])):
            row = await MessageRow.get_or_none(id=UUID(message["id"]), tenant_id=info.context.tenant.id)
            if row is not None and (only is None or row.customer_id == only):
                yield MessageStatusEvent(status=message["data"].get("status", ""), message=row)

    @strawberry.subscription(permission_classes=needs(CoreRole.VIEWER), description="New messages from customers")
    async def inbound_messages(self, info: Info) -> AsyncGenerator[LiveEvent, None]:
        async for message in watch(info, _types(["message.received"])):
            yield _event(message)

    @strawberry.subscription(permission_classes=needs(CoreRole.VIEWER), description="Payments recorded or refunded")
    async def payments(self, info: Info) -> AsyncGenerator[PaymentEvent, None]:
        async for message in watch(info, _types(["payment.recorded", "payment.refunded"])):
            row = await PaymentRow.get_or_none(id=UUID(message["id"]), tenant_id=info.context.tenant.id)
            yield PaymentEvent(type=message["type"], payment=row)
