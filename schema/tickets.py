"""Support tickets and incidents (core.crm.tickets), and the tenant's SLA."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

import strawberry
from strawberry import UNSET, Info

from seva_crm.core.common import enums
from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.common.security import utcnow
from seva_crm.core.crm import settings, tickets
from seva_crm.core.models import Ticket as TicketRow
from seva_crm.core.models import TicketComment as CommentRow
from seva_crm.core.models import User as UserRow
from seva_crm.schema.customers import Customer, customer_id, given
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs
from seva_crm.schema.relay import Connection, connection

TicketPriority = strawberry.enum(enums.TicketPriority)
TicketStatus = strawberry.enum(enums.TicketStatus)


@strawberry.enum(description="Sort order of a ticket list.")
class TicketOrder(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    RESOLUTION_DUE_ASC = "RESOLUTION_DUE_ASC"


def user_id(value: str | None) -> UUID | None:
    return from_global_id(value, "User") if value else None


@strawberry.type(description="A comment on a ticket: internal, or sent to the customer.")
class TicketComment:
    @strawberry.field
    def id(self: CommentRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("TicketComment", self.id))

    body: str
    internal: bool
    created_at: datetime

    @strawberry.field
    def author_id(self: CommentRow) -> strawberry.ID | None:
        return strawberry.ID(to_global_id("User", self.author_id)) if self.author_id else None


@strawberry.type(description="A customer's support ticket, or an incident (no customer) with a child ticket per affected customer.")
class Ticket:
    @strawberry.field
    def id(self: TicketRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Ticket", self.id))

    number: int
    subject: str
    category: str
    priority: TicketPriority
    status: TicketStatus
    is_incident: bool
    first_response_due_at: datetime
    resolution_due_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The first response is late (none yet, past its deadline) or was late")
    def first_response_overdue(self: TicketRow) -> bool:
        return (self.first_responded_at or utcnow()) > self.first_response_due_at

    @strawberry.field(description="Resolution is late (not resolved, past its deadline) or was late")
    def resolution_overdue(self: TicketRow) -> bool:
        return (self.resolved_at or utcnow()) > self.resolution_due_at

    @strawberry.field
    async def customer(self: TicketRow, info: Info) -> Customer | None:
        return await info.context.loaders.customer.load(self.customer_id) if self.customer_id else None

    @strawberry.field
    def assignee_id(self: TicketRow) -> strawberry.ID | None:
        return strawberry.ID(to_global_id("User", self.assignee_id)) if self.assignee_id else None

    @strawberry.field
    async def assignee_name(self: TicketRow) -> str | None:
        if not self.assignee_id:
            return None
        return await UserRow.filter(id=self.assignee_id, tenant_id=self.tenant_id).first().values_list("name", flat=True)

    @strawberry.field(description="The incident this ticket belongs to")
    async def parent(self: TicketRow) -> Ticket | None:
        return await TicketRow.get_or_none(id=self.parent_id, tenant_id=self.tenant_id) if self.parent_id else None

    @strawberry.field(description="An incident's tickets, one per affected customer")
    async def affected(self: TicketRow, first: int | None = 20, after: str | None = None) -> Connection[Ticket]:
        qs = TicketRow.filter(tenant_id=self.tenant_id, parent_id=self.id)
        return await connection(qs, tickets.SORTS["CREATED_AT_ASC"], first, after, None, None)

    @strawberry.field(description="Comments, oldest first; viewers see them all")
    async def comments(self: TicketRow) -> list[TicketComment]:
        return await CommentRow.filter(tenant_id=self.tenant_id, ticket_id=self.id).order_by("created_at", "id")


@strawberry.input
class TicketFilter:
    customer_id: strawberry.ID | None = None
    status: list[TicketStatus] | None = None
    assignee_id: strawberry.ID | None = None
    incidents_only: bool = False


@strawberry.input
class TicketCreateInput:
    customer_id: strawberry.ID
    subject: str
    category: str | None = None
    priority: TicketPriority | None = None
    assignee_id: strawberry.ID | None = None


@strawberry.input(description="An outage or other problem affecting many customers")
class IncidentCreateInput:
    customer_ids: list[strawberry.ID]
    subject: str
    category: str | None = None
    priority: TicketPriority | None = None
    assignee_id: strawberry.ID | None = None


@strawberry.input(description="Only the fields given are changed")
class TicketUpdateInput:
    status: TicketStatus | None = UNSET
    priority: TicketPriority | None = UNSET
    category: str | None = UNSET
    assignee_id: strawberry.ID | None = UNSET


@strawberry.type
class TicketPayload:
    ticket: Ticket | None
    errors: list[UserError]


@strawberry.type
class TicketCommentPayload:
    comment: TicketComment | None
    errors: list[UserError]


@strawberry.type(description="Minutes to the first response and to resolution, for one priority")
class SlaTarget:
    priority: TicketPriority
    first_response_minutes: int
    resolution_minutes: int


@strawberry.type
class SlaPayload:
    sla: list[SlaTarget] | None
    errors: list[UserError]


def _sla(values: dict) -> list[SlaTarget]:
    return [SlaTarget(priority=enums.TicketPriority(p), first_response_minutes=v["first_response"],
                      resolution_minutes=v["resolution"]) for p, v in values.items()]


def _ticket_data(input) -> dict:
    data = {"subject": input.subject, "category": input.category, "priority": input.priority}
    if input.assignee_id:
        data["assignee_id"] = user_id(input.assignee_id) or UUID(int=0)
    return data


@strawberry.type
class TicketQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def ticket(self, info: Info, id: strawberry.ID) -> Ticket | None:
        tid = from_global_id(id, "Ticket")
        return await TicketRow.get_or_none(id=tid, tenant_id=info.context.tenant.id) if tid else None

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def tickets(self, info: Info, filter: TicketFilter | None = None, order_by: TicketOrder = TicketOrder.CREATED_AT_DESC,
                      first: int | None = None, after: str | None = None, last: int | None = None,
                      before: str | None = None) -> Connection[Ticket]:
        f = tickets.TicketFilter()
        if filter:
            if filter.customer_id is not None:
                f.customer_id = customer_id(filter.customer_id) or UUID(int=0)
            if filter.assignee_id is not None:
                f.assignee_id = user_id(filter.assignee_id) or UUID(int=0)
            f.statuses = list(filter.status or [])
            f.incidents_only = filter.incidents_only
        qs = tickets.ticket_queryset(info.context.tenant.id, f)
        return await connection(qs, tickets.SORTS[order_by.value], first, after, last, before)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def ticket_sla(self, info: Info) -> list[SlaTarget]:
        return _sla(await settings.sla(info.context.tenant.id))


@strawberry.type
class TicketMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def ticket_create(self, info: Info, input: TicketCreateInput) -> TicketPayload:
        work = tickets.create_ticket(info.context.tenant, customer_id(input.customer_id), _ticket_data(input))
        return await payload(TicketPayload, "ticket", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT),
                         description="An incident with a ticket for each affected customer; its updates reach them all")
    async def incident_create(self, info: Info, input: IncidentCreateInput) -> TicketPayload:
        ids = [customer_id(c) or UUID(int=0) for c in input.customer_ids]
        return await payload(TicketPayload, "ticket", tickets.create_incident(info.context.tenant, ids, _ticket_data(input)))

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def ticket_update(self, info: Info, id: strawberry.ID, input: TicketUpdateInput) -> TicketPayload:
        changes = given(input)
        if "assignee_id" in changes:
            changes["assignee_id"] = (user_id(changes["assignee_id"]) or UUID(int=0)) if changes["assignee_id"] else None
        work = tickets.update_ticket(info.context.tenant, from_global_id(id, "Ticket"), changes)
        return await payload(TicketPayload, "ticket", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT),
                         description="internal: false sends the comment to the customer (each affected customer of an incident)")
    async def ticket_comment(self, info: Info, ticket_id: strawberry.ID, body: str, internal: bool = True) -> TicketCommentPayload:
        work = tickets.comment(info.context.tenant, info.context.principal.user_id, from_global_id(ticket_id, "Ticket"), body, internal)
        return await payload(TicketCommentPayload, "comment", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN))
    async def ticket_sla_set(self, info: Info, priority: TicketPriority, first_response_minutes: int,
                             resolution_minutes: int) -> SlaPayload:
        async def work():
            return _sla(await settings.set_sla(info.context.tenant, priority, first_response_minutes, resolution_minutes))
        return await payload(SlaPayload, "sla", work())
