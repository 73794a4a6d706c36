"""Support tickets: one customer's problem with a category, priority, status and assignee, with
first-response and resolution deadlines from the tenant's SLA (core.crm.settings), and comments,
internal or sent to the customer through the outbox.

An incident (an ISP's outage) is a parent ticket with no customer and one child ticket per
affected customer: a public comment or a status change on the incident fans out to every child,
so each affected customer hears of it on their own channel, and each child keeps its own history.
Status changes tell the customer by the status rules (core.crm.status_rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from tortoise.functions import Max
from tortoise.queryset import QuerySet

from seva_crm.core.common.enums import TicketPriority, TicketStatus
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError, NotFound
from seva_crm.core.common.paging import SortKey, datetime_key
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.validation import require_text
from seva_crm.core.crm import settings, status_rules
from seva_crm.core.messaging import outbox, templates
from seva_crm.core.models import Customer, Ticket, TicketComment, User
from seva_crm.core.platform import audit, events
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.storage.transactions import transaction

T = TicketStatus
TRANSITIONS: dict[TicketStatus, set[TicketStatus]] = {
    T.OPEN: {T.IN_PROGRESS, T.WAITING, T.RESOLVED, T.CLOSED},
    T.IN_PROGRESS: {T.WAITING, T.RESOLVED, T.CLOSED},
    T.WAITING: {T.IN_PROGRESS, T.RESOLVED, T.CLOSED},
    T.RESOLVED: {T.IN_PROGRESS, T.CLOSED},  # reopened, or closed
    T.CLOSED: set(),
}
MAX_AFFECTED = 5000
SORTS: dict[str, SortKey] = {
    "CREATED_AT_DESC": datetime_key("created_at", True),
    "CREATED_AT_ASC": datetime_key("created_at", False),
    "RESOLUTION_DUE_ASC": datetime_key("resolution_due_at", False),
}


async def _assignee(tenant_id: UUID, user_id: UUID | None) -> UUID | None:
    if user_id is None:
        return None
    if not await User.filter(id=user_id, tenant_id=tenant_id, is_active=True).exists():
        raise NotFound("staff member", "assigneeId")
    return user_id


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    try:
        out["subject"] = require_text(data.get("subject"), "subject", 200)
    except DomainError as exc:
        errors += exc.errors
    out["category"] = (data.get("category") or "").strip().lower()[:50]
    out["priority"] = TicketPriority(data.get("priority") or TicketPriority.NORMAL)
    if errors:
        raise DomainError(*errors)
    return out


async def _deadlines(tenant_id: UUID, priority: TicketPriority, opened) -> dict[str, Any]:
    minutes = (await settings.sla(tenant_id))[priority.value]
    return {"first_response_due_at": opened + timedelta(minutes=minutes["first_response"]),
            "resolution_due_at": opened + timedelta(minutes=minutes["resolution"])}


async def _next_number(tenant_id: UUID) -> int:
    top = await Ticket.filter(tenant_id=tenant_id).annotate(top=Max("number")).first().values_list("top", flat=True)
    return (top or 0) + 1


async def create_ticket(tenant: TenantScope, customer_id: UUID | None, data: dict[str, Any]) -> Ticket:
    values = _fields(data)
    customer = await Customer.get_or_none(tenant_id=tenant.id, id=customer_id, deleted_at__isnull=True) if customer_id else None
    if customer is None:
        raise NotFound("customer", "customerId")
    assignee = await _assignee(tenant.id, data.get("assignee_id"))
    now = utcnow()
    async with transaction():
        ticket = await Ticket.create(tenant_id=tenant.id, number=await _next_number(tenant.id), customer_id=customer.id,
                                     assignee_id=assignee, **values, **await _deadlines(tenant.id, values["priority"], now))
        await audit.record(tenant.id, "ticket.created", subject_type="customer", subject_id=customer.id,
                           changed=["subject", "category", "priority"], details={"ticket": str(ticket.id), "number": ticket.number})
        await events.emit(events.new_event(events.TICKET_CREATED, tenant.id, ticket.id, customer_id=str(customer.id),
                                           status=ticket.status.value))
        change_feed.record(tenant.id, ChangeType.TICKET, ticket.id, Op.CREATED)
    return ticket


async def create_incident(tenant: TenantScope, customer_ids: list[UUID], data: dict[str, Any]) -> Ticket:
    """One incident and a child ticket for each affected customer (live customers of the tenant)."""
    values = _fields(data)
    wanted = list(dict.fromkeys(customer_ids))
    if not wanted or len(wanted) > MAX_AFFECTED:
        raise DomainError.of("customerIds", ErrorCode.INVALID, f"1 to {MAX_AFFECTED} affected customers")
    found = set(await Customer.filter(tenant_id=tenant.id, id__in=wanted, deleted_at__isnull=True).values_list("id", flat=True))
    if len(found) != len(wanted):
        raise DomainError.of("customerIds", ErrorCode.NOT_FOUND, f"{len(wanted) - len(found)} of the customers were not found")
    assignee = await _assignee(tenant.id, data.get("assignee_id"))
    deadlines = await _deadlines(tenant.id, values["priority"], utcnow())
    async with transaction():
        number = await _next_number(tenant.id)
        incident = await Ticket.create(tenant_id=tenant.id, number=number, is_incident=True, assignee_id=assignee,
                                       **values, **deadlines)
        children = [Ticket(tenant_id=tenant.id, number=number + i, customer_id=cid, parent_id=incident.id,
                           assignee_id=assignee, **values, **deadlines) for i, cid in enumerate(wanted, 1)]
        await Ticket.bulk_create(children)
        change_feed.record_many(tenant.id, ChangeType.TICKET, [incident.id, *(t.id for t in children)], Op.CREATED)
        await audit.record(tenant.id, "ticket.incident_created", subject_type="ticket", subject_id=incident.id,
                           changed=["subject", "category", "priority"], details={"number": number, "affected": len(wanted)})
        await events.emit(events.new_event(events.TICKET_CREATED, tenant.id, incident.id, affected=len(wanted)))
    return incident


async def get_ticket(tenant_id: UUID, ticket_id: UUID | None) -> Ticket:
    ticket = await Ticket.get_or_none(tenant_id=tenant_id, id=ticket_id) if ticket_id else None
    if ticket is None:
        raise NotFound("ticket")
    return ticket


async def update_ticket(tenant: TenantScope, ticket_id: UUID | None, changes: dict[str, Any]) -> Ticket:
    """Change status, priority, category or assignee; an incident's status carries to its children."""
    ticket = await get_ticket(tenant.id, ticket_id)
    values: dict[str, Any] = {}
    if (status := changes.get("status")) and status != ticket.status:
        if status not in TRANSITIONS[ticket.status]:
            raise DomainError.of("status", ErrorCode.INVALID_TRANSITION,
                                 f"cannot move from {ticket.status.value} to {TicketStatus(status).value}")
        values["status"] = TicketStatus(status)
    if changes.get("priority") and changes["priority"] != ticket.priority:
        values["priority"] = TicketPriority(changes["priority"])
        values.update(await _deadlines(tenant.id, values["priority"], ticket.created_at))
    if "category" in changes and changes["category"] is not None:
        values["category"] = changes["category"].strip().lower()[:50]
    if "assignee_id" in changes:
        values["assignee_id"] = await _assignee(tenant.id, changes["assignee_id"])
    if not values:
        return ticket
    async with transaction():
        targets = [ticket]
        if ticket.is_incident and "status" in values:
            targets += [t for t in await Ticket.filter(tenant_id=tenant.id, parent_id=ticket.id)
                        if values["status"] in TRANSITIONS[t.status]]
        for target in targets:
            await _apply(tenant, target, values if target is ticket else {"status": values["status"]})
    return ticket


async def _apply(tenant: TenantScope, ticket: Ticket, values: dict[str, Any]) -> None:
    entered = values.get("status")
    if entered in (T.RESOLVED, T.CLOSED) and ticket.resolved_at is None:
        values = {**values, "resolved_at": utcnow()}
    elif entered == T.IN_PROGRESS:
        values = {**values, "resolved_at": None}
    changed = [k for k, v in values.items() if getattr(ticket, k) != v]
    ticket.update_from_dict(values)
    await ticket.save(update_fields=[*values, "updated_at"])
    change_feed.record(tenant.id, ChangeType.TICKET, ticket.id, Op.UPDATED)
    await audit.record(tenant.id, "ticket.updated", subject_type="ticket", subject_id=ticket.id, changed=changed,
                       details={k: str(v) for k, v in values.items() if k in ("status", "priority", "category", "assignee_id")})
    await events.emit(events.new_event(events.TICKET_UPDATED, tenant.id, ticket.id, fields=sorted(changed),
                                       status=ticket.status.value))
    if entered:
        await status_rules.notify(tenant.id, status_rules.TICKET, entered.value, ticket.customer_id, ticket.id,
                                  {"ticket": ticket.subject, "number": f"#{ticket.number}"})


async def comment(tenant: TenantScope, author_id: UUID | None, ticket_id: UUID | None, body: str,
                  internal: bool = True) -> TicketComment:
    """Add a comment. A public one goes to the customer (each affected customer, on an incident)
    as the ``ticket_update`` template, and counts as the first response."""
    ticket = await get_ticket(tenant.id, ticket_id)
    text = require_text(body, "body", 2000)
    if ticket.status is T.CLOSED:
        raise DomainError.of("ticketId", ErrorCode.INVALID, "the ticket is closed")
    async with transaction():
        row = await TicketComment.create(tenant_id=tenant.id, ticket_id=ticket.id, author_id=author_id, body=text, internal=internal)
        if not internal:
            targets = [ticket]
            if ticket.is_incident:
                targets += await Ticket.filter(tenant_id=tenant.id, parent_id=ticket.id).exclude(status=T.CLOSED)
            now = utcnow()
            for target in targets:
                if target.first_responded_at is None:
                    target.first_responded_at = now
                    await target.save(update_fields=["first_responded_at", "updated_at"])
                    if target is not ticket:
                        change_feed.record(tenant.id, ChangeType.TICKET, target.id, Op.UPDATED)
                if target.customer_id:
                    await _tell(tenant.id, target, text, row.id)
        await audit.record(tenant.id, "ticket.commented", subject_type="ticket", subject_id=ticket.id, changed=["comment"],
                           details={"internal": internal})
        await events.emit(events.new_event(events.TICKET_COMMENTED, tenant.id, ticket.id, internal=internal))
        change_feed.record(tenant.id, ChangeType.TICKET, ticket.id, Op.UPDATED)  # its comments (and first response) changed
    return row


async def _tell(tenant_id: UUID, ticket: Ticket, text: str, comment_id: UUID) -> None:
    customer = await Customer.get_or_none(tenant_id=tenant_id, id=ticket.customer_id, deleted_at__isnull=True)
    if customer is None:
        return
    template = await templates.get_template(tenant_id, "ticket_update")
    given = {"name": customer.name, "number": f"#{ticket.number}", "ticket": ticket.subject, "text": text}
    body = templates.render(template, given, customer.language.value)
    await outbox.queue_message(tenant_id, customer.id, purpose=Purpose.SERVICE, template=template.key, body=body,
                               variables={k: v for k, v in given.items() if k in template.variables},
                               idempotency_key=f"ticket-{comment_id.hex}-{ticket.id.hex[:12]}")


@dataclass
class TicketFilter:
    customer_id: UUID | None = None
    statuses: list[TicketStatus] = field(default_factory=list)
    assignee_id: UUID | None = None
    incidents_only: bool = False
    parent_id: UUID | None = None


def ticket_queryset(tenant_id: UUID, f: TicketFilter) -> QuerySet[Ticket]:
    qs = Ticket.filter(tenant_id=tenant_id)
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    if f.statuses:
        qs = qs.filter(status__in=f.statuses)
    if f.assignee_id:
        qs = qs.filter(assignee_id=f.assignee_id)
    if f.incidents_only:
        qs = qs.filter(is_incident=True)
    if f.parent_id:
        qs = qs.filter(parent_id=f.parent_id)
    return qs
