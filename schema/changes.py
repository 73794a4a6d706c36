"""The change feed (``changes``): what changed in the tenant since a cursor, for front ends that
sync after time offline. See docs/events.md."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import Conversation as ConversationRow
from seva_crm.core.models import Customer as CustomerRow
from seva_crm.core.models import Lead as LeadRow
from seva_crm.core.models import Ticket as TicketRow
from seva_crm.core.models import CustomerNote as NoteRow
from seva_crm.core.models import Invoice as InvoiceRow
from seva_crm.core.models import Message as MessageRow
from seva_crm.core.models import Payment as PaymentRow
from seva_crm.core.models import ServiceRecord as ServiceRecordRow
from seva_crm.core.models import Subscription as SubscriptionRow
from seva_crm.core.platform import changes
from seva_crm.schema.billing import Invoice, Payment, Subscription
from seva_crm.schema.customers import Customer, ServiceRecord
from seva_crm.schema.messages import Message
from seva_crm.schema.permissions import needs
from seva_crm.schema.conversations import Conversation
from seva_crm.schema.leads import Lead
from seva_crm.schema.tickets import Ticket
from seva_crm.schema.timeline import CustomerNote

ChangeType = strawberry.enum(changes.ChangeType, description="The kinds of object the change feed follows.")
ChangeOp = strawberry.enum(changes.Op, description="CREATED and UPDATED carry the object as it is now; DELETED only its id.")

ROWS: dict[changes.ChangeType, tuple[Any, str]] = {  # model, global id type name
    changes.ChangeType.CUSTOMER: (CustomerRow, "Customer"),
    changes.ChangeType.SERVICE_RECORD: (ServiceRecordRow, "ServiceRecord"),
    changes.ChangeType.INVOICE: (InvoiceRow, "Invoice"),
    changes.ChangeType.PAYMENT: (PaymentRow, "Payment"),
    changes.ChangeType.SUBSCRIPTION: (SubscriptionRow, "Subscription"),
    changes.ChangeType.MESSAGE: (MessageRow, "Message"),
    changes.ChangeType.NOTE: (NoteRow, "CustomerNote"),
    changes.ChangeType.TICKET: (TicketRow, "Ticket"),
    changes.ChangeType.LEAD: (LeadRow, "Lead"),
    changes.ChangeType.CONVERSATION: (ConversationRow, "Conversation"),
}


@strawberry.type(description="One change: apply CREATED and UPDATED as an upsert of the object given (its state now, "
                             "so applying it twice is harmless), DELETED as a removal of the id.")
class Change:
    cursor: str = strawberry.field(description="Resume after this change")
    type: ChangeType
    op: ChangeOp = strawberry.field(description="DELETED also when the object is gone or hidden now (deleted, erased)")
    id: strawberry.ID = strawberry.field(description="The object's id, as its own type shows it")
    customer: Customer | None = None
    service_record: ServiceRecord | None = None
    invoice: Invoice | None = None
    payment: Payment | None = None
    subscription: Subscription | None = None
    message: Message | None = None
    note: CustomerNote | None = None
    ticket: Ticket | None = None
    lead: Lead | None = None
    conversation: Conversation | None = None


@strawberry.type
class ChangeFeed:
    changes: list[Change]
    cursor: str = strawberry.field(description="Pass as `since` next time: every change up to here is in this page or before")
    has_more: bool = strawberry.field(description="More changes wait: ask again at once with `since: cursor`")


def _visible(row: Any) -> bool:
    return row is not None and getattr(row, "deleted_at", None) is None


@strawberry.type
class ChangeQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description=(
        "The tenant's changes after `since` (null: from the first kept), in commit order. A cursor older than "
        "the retention window is refused with reason EXPIRED: read everything afresh after taking `changesHead`."))
    async def changes(self, info: Info, since: str | None = None, types: list[ChangeType] | None = None,
                      first: int = 100) -> ChangeFeed:
        tenant_id = info.context.tenant.id
        page = await changes.read(tenant_id, since, [t.value for t in types or []], first)
        wanted: dict[str, set[UUID]] = {}
        for row in page.changes:
            if row.op != changes.Op.DELETED and row.type in ROWS:
                wanted.setdefault(row.type, set()).add(row.object_id)
        found: dict[tuple[str, UUID], Any] = {}
        for type_, ids in wanted.items():
            model = ROWS[changes.ChangeType(type_)][0]
            for obj in await model.filter(tenant_id=tenant_id, id__in=ids):
                found[(type_, obj.id)] = obj
        if conversations := [o for (t, _), o in found.items() if t == changes.ChangeType.CONVERSATION]:
            # a conversation goes with its customer: deleted or erased, it is a deletion here too
            gone = set(await CustomerRow.filter(tenant_id=tenant_id, id__in={o.customer_id for o in conversations},
                                                deleted_at__isnull=False).values_list("id", flat=True))
            for o in conversations:
                if o.customer_id in gone:
                    del found[(changes.ChangeType.CONVERSATION.value, o.id)]
        out = []
        for row in page.changes:
            if row.type not in ROWS:
                continue  # a type this API does not show yet
            kind = changes.ChangeType(row.type)
            obj = found.get((row.type, row.object_id))
            live = row.op != changes.Op.DELETED and _visible(obj)  # a deletion stays one (a later change may restore it)
            out.append(Change(cursor=changes.encode_cursor(row.seq), type=kind,
                              op=changes.Op(row.op) if live else changes.Op.DELETED,
                              id=strawberry.ID(to_global_id(ROWS[kind][1], row.object_id)),
                              **({kind.value: obj} if live else {})))
        return ChangeFeed(changes=out, cursor=page.cursor, has_more=page.has_more)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER),
                      description="The cursor of the latest change: take it before a full read, then follow `changes` from it.")
    async def changes_head(self, info: Info) -> str:
        return await changes.head(info.context.tenant.id)
