"""What a channel's provider reports back: delivery statuses of messages we sent, and messages
customers send us.

Channel plugins call these (through ``seva_crm.plugin_api``) from their webhooks and adapters
instead of touching rows. Every lookup is scoped to the tenant and to the reporting channel:
one channel's webhook cannot move another channel's messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tortoise.exceptions import IntegrityError

from seva_crm.core.common.enums import MessageStatus
from seva_crm.core.common.security import utcnow
from seva_crm.core.messaging.outbox import advance
from seva_crm.core.messaging import conversations
from seva_crm.core.models import Customer, InboundMessage, Message
from seva_crm.core.platform import events
from seva_crm.core.storage.transactions import transaction

S = MessageStatus
STAMPS = {S.DELIVERED: "delivered_at", S.READ: "read_at", S.FAILED: "failed_at"}


@dataclass(frozen=True)
class StatusReport:
    message_id: UUID
    customer_id: UUID | None
    moved: bool  # False: a repeat, or a report older than what we know (status only moves forward)


async def record_delivery_status(tenant_id: UUID, channel: str, status: MessageStatus, *, provider_id: str | None = None,
                                 message_id: UUID | None = None, idempotency_key: str | None = None,
                                 error: str = "") -> StatusReport | None:
    """A provider's report on a message ``channel`` sent: DELIVERED, READ or FAILED (``error``:
    why, kept as the message's last error). The message is found by the provider's id, else
    by our message id or idempotency key (what the provider echoes back). None: no such message
    of this tenant on this channel."""
    status = MessageStatus(status)
    if status not in STAMPS:
        raise ValueError(f"providers report delivered, read or failed, not {status}")
    message = None
    for key, value in (("provider_id", provider_id), ("id", message_id), ("idempotency_key", idempotency_key)):
        if value:
            message = await Message.get_or_none(tenant_id=tenant_id, channel=channel, **{key: value})
            if message is not None:
                break
    if message is None:
        return None
    changes = {STAMPS[status]: utcnow(), **({"last_error": f"{channel} {error}"[:2000]} if error else {})}
    moved = await advance(message.id, status, **changes)
    return StatusReport(message.id, message.customer_id, moved)


async def customer_by_phone(tenant_id: UUID, phone: str) -> UUID | None:
    """The tenant's (not deleted) customer with this E.164 number."""
    if not phone:
        return None
    found = await Customer.get_or_none(tenant_id=tenant_id, phone=phone, deleted_at__isnull=True).only("id")
    return found.id if found else None


@dataclass(frozen=True)
class InboundReport:
    customer_id: UUID
    stored: bool  # False: this provider id was stored before (a repeated webhook)


async def record_inbound(tenant_id: UUID, channel: str, *, sender: str, provider_id: str, body: str, kind: str = "text",
                         received_at: datetime | None = None) -> InboundReport | None:
    """Store a message a customer sent on ``channel`` (once per provider id). ``sender`` is an
    E.164 number; a sender who is not a customer is not stored (None)."""
    customer_id = await customer_by_phone(tenant_id, sender)
    if customer_id is None or not provider_id:
        return None
    received_at = received_at or utcnow()
    try:
        # one transaction: the message, its conversation (unread, change feed) and the event's webhook
        # rows commit together, so a failure leaves nothing and the provider's retry stores it whole
        async with transaction():
            row = await InboundMessage.create(tenant_id=tenant_id, customer_id=customer_id, channel=channel,
                                              provider_id=provider_id[:128], sender=sender, kind=kind[:16], body=body[:4096],
                                              received_at=received_at or utcnow())
            await events.emit(events.new_event(events.MESSAGE_RECEIVED, tenant_id, row.id, channel=channel, kind=row.kind,
                                               customer_id=str(customer_id)))
            await conversations.touch_inbound(tenant_id, customer_id, row.received_at)  # threaded, unread
    except IntegrityError:
        return InboundReport(customer_id, stored=False)
    return InboundReport(customer_id, stored=True)


async def last_inbound_at(tenant_id: UUID, customer_id: UUID | None, channel: str) -> datetime | None:
    """When the customer last wrote to us on ``channel`` (e.g. for WhatsApp's 24-hour window)."""
    if customer_id is None:
        return None
    # a household member's replies come from its contact's phone
    contact_id = await Customer.filter(tenant_id=tenant_id, id=customer_id).first().values_list("household_contact_id", flat=True)
    return await (InboundMessage.filter(tenant_id=tenant_id, customer_id=contact_id or customer_id, channel=channel)
                  .order_by("-received_at").first().values_list("received_at", flat=True))
