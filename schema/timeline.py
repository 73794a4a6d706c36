"""A customer's timeline and notes (core.crm.timeline, core.crm.notes)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.crm import notes, timeline
from seva_crm.core.models import CustomerNote as NoteRow
from seva_crm.schema.customers import Money
from seva_crm.schema.enums import Currency
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs
from seva_crm.schema.relay import Connection, cursor_page


@strawberry.type(description="One thing that happened with a customer.")
class TimelineEvent:
    kind: str = strawberry.field(description="service_record, message, inbound_message, invoice, payment, ticket, consent or note")
    at: datetime
    subject_id: strawberry.ID = strawberry.field(description="The id of the object (a ServiceRecord, Message, Ticket, ...)")
    summary: str
    amount: Money | None


@strawberry.type
class CustomerNote:
    @strawberry.field
    def id(self: NoteRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("CustomerNote", self.id))

    body: str
    created_at: datetime

    @strawberry.field(description="When its text last changed (its creation if never edited)")
    def updated_at(self: NoteRow) -> datetime:
        return self.updated_at

    @strawberry.field
    def customer_id(self: NoteRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Customer", self.customer_id))

    @strawberry.field
    def author_id(self: NoteRow) -> strawberry.ID | None:
        return strawberry.ID(to_global_id("User", self.author_id)) if self.author_id else None


@strawberry.type
class CustomerNotePayload:
    note: CustomerNote | None
    errors: list[UserError]


def _event(entry) -> TimelineEvent:
    e: timeline.Event = entry.item
    amount = Money(amount=e.amount, currency=Currency(e.currency)) if e.amount is not None and e.currency else None
    return TimelineEvent(kind=e.kind, at=e.at, subject_id=strawberry.ID(to_global_id(e.subject_type, e.subject_id)),
                         summary=e.summary, amount=amount)


@strawberry.type
class TimelineQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER),
                      description="A customer's services, messages, invoices, payments, tickets, consents and notes, newest first")
    async def customer_timeline(self, info: Info, customer_id: strawberry.ID, first: int | None = 20,
                                after: str | None = None) -> Connection[TimelineEvent] | None:
        cid = from_global_id(customer_id, "Customer")
        if not cid or not await info.context.loaders.customer.load(cid):
            return None
        entries, more = await timeline.timeline(info.context.tenant.id, cid, first, after)
        return cursor_page([(e.cursor(), _event(e)) for e in entries], more, after is not None)


@strawberry.type
class TimelineMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def customer_note_add(self, info: Info, customer_id: strawberry.ID, body: str) -> CustomerNotePayload:
        work = notes.add_note(info.context.tenant, info.context.principal.user_id, from_global_id(customer_id, "Customer"), body)
        return await payload(CustomerNotePayload, "note", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT),
                         description="Replace a note's text: its author's, or any note for an admin (audited)")
    async def customer_note_edit(self, info: Info, id: strawberry.ID, body: str) -> CustomerNotePayload:
        principal = info.context.principal
        work = notes.edit_note(info.context.tenant, principal.user_id, principal.role, from_global_id(id, "CustomerNote"), body)
        return await payload(CustomerNotePayload, "note", work)
