"""The audit log for owners and admins: ``auditEvents`` (filters, cursor pages), the same as CSV,
and each user's sign-in history. Viewers and agents are refused."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from uuid import UUID

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from seva_crm.core.common.enums import Role
from seva_crm.core.common.errors import NotFound
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.paging import count_up_to
from seva_crm.core.identity.guards import managed_user
from seva_crm.core.models import AuditEvent as AuditEventRow
from seva_crm.core.platform import audit, audit_query
from seva_crm.schema.permissions import needs
from seva_crm.schema.relay import Connection, Edge, PageInfo
from seva_crm.schema.staff import user_id_arg


@strawberry.type(description="One entry of the tenant's audit log. Personal values appear only as keyed digests (h:...).")
class AuditEvent:
    @strawberry.field(description="Position in the tenant's hash chain (1, 2, ...).")
    def seq(self: AuditEventRow) -> int:
        return self.seq

    at: datetime
    action: str
    actor_type: str = strawberry.field(description="user, api_key, system, subject, link or anonymous")

    @strawberry.field(description="The acting user's or API key's global id, when one acted.")
    def actor_id(self: AuditEventRow) -> strawberry.ID | None:
        kind = {"user": "User", "api_key": "ApiKey"}.get(self.actor_type)
        return strawberry.ID(_global(kind, self.actor_id)) if kind and self.actor_id else None

    subject_type: str
    subject_id: str = strawberry.field(description="The id of what was acted on (as stored: a UUID, a plugin id, ...).")
    changed: list[str] = strawberry.field(description="Names of the fields changed.")

    @strawberry.field(description="What else was recorded: non-personal values, keyed digests, before and after.")
    def details(self: AuditEventRow) -> JSON:
        return self.details

    ip: str
    user_agent: str


@strawberry.type(description="One sign-in attempt on a user's account.")
class LoginAttempt:
    at: datetime
    ip: str
    user_agent: str
    outcome: str = strawberry.field(description="success, failed or throttled")


@strawberry.input
class AuditEventFilter:
    actor_id: strawberry.ID | None = strawberry.field(default=None, description="A user's or API key's global id")
    actor_type: str | None = None
    subject_type: str | None = strawberry.field(default=None, description="customer, user, tenant, plugin, privacy_request, ...")
    subject_id: strawberry.ID | None = strawberry.field(default=None, description="A global id, or the id as stored")
    action: str | None = strawberry.field(default=None, description='Exact ("customer.updated"), or a prefix ending in "." '
                                                                     '("customer.")')
    since: datetime | None = strawberry.field(default=None, description="At or after")
    until: datetime | None = strawberry.field(default=None, description="Before")


def _global(kind: str, raw: str) -> str:
    try:
        return to_global_id(kind, UUID(raw))
    except ValueError:
        return raw


def _stored_id(value: str) -> str:
    """The id behind a global id (any type), or the value itself."""
    try:
        kind, _, raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().partition(":")
        return str(UUID(raw)) if kind.isalpha() else value
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value


def _filter(f: AuditEventFilter | None) -> audit_query.AuditFilter:
    if f is None:
        return audit_query.AuditFilter()
    return audit_query.AuditFilter(
        actor_type=f.actor_type, actor_id=_stored_id(f.actor_id) if f.actor_id else None, subject_type=f.subject_type,
        subject_id=_stored_id(f.subject_id) if f.subject_id else None, action=f.action, since=f.since, until=f.until)


def _connection(result: audit_query.EventPage, qs=None) -> Connection:
    """A page of entries; ``qs`` (None: nothing to count) counts them for totalCount and cappedCount."""
    items, cursor = result.items, audit_query.cursor_of
    edges = [Edge(cursor_of=cursor, node=e) for e in items]
    count = qs.count if qs is not None else _zero
    up_to = (lambda ceiling: count_up_to(qs, ceiling)) if qs is not None else (lambda ceiling: _zero())
    return Connection(edges=edges, count=count, count_up_to=up_to, page_info=PageInfo(
        has_next_page=result.has_next, has_previous_page=result.has_previous,
        start_cursor=cursor(items[0]) if items else None, end_cursor=cursor(items[-1]) if items else None))


@strawberry.type
class AuditQuery:
    @strawberry.field(permission_classes=needs(Role.ADMIN),
                      description="The tenant's audit log, newest first (owners and admins).")
    async def audit_events(self, info: Info, filter: AuditEventFilter | None = None, first: int | None = None,
                           after: str | None = None) -> Connection[AuditEvent]:
        qs = audit_query.events_queryset(info.context.tenant.id, _filter(filter))
        return _connection(await audit_query.page(qs, first, after), qs)

    @strawberry.field(permission_classes=needs(Role.ADMIN),
                      description="The entries the filter selects as CSV, oldest first (at most 10,000: narrow the "
                                  "time range for more). Each export is itself audited.")
    async def audit_events_csv(self, info: Info, filter: AuditEventFilter | None = None) -> str:
        wanted = _filter(filter)
        text = await audit_query.events_csv(audit_query.events_queryset(info.context.tenant.id, wanted))
        await audit.record(info.context.tenant.id, "audit.exported", subject_type="tenant", subject_id=info.context.tenant.id,
                           details={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(wanted).items()
                                    if v is not None})
        return text

    @strawberry.field(permission_classes=needs(Role.ADMIN),
                      description="A user's sign-in attempts, newest first: time, address, client and outcome.")
    async def login_history(self, info: Info, user_id: strawberry.ID, first: int | None = None,
                            after: str | None = None) -> Connection[LoginAttempt]:
        try:
            user = await managed_user(info.context.principal, user_id_arg(user_id, "userId"), allow_self=True, field="userId")
        except NotFound:
            return _connection(audit_query.EventPage([], False, False))
        qs = audit_query.logins_queryset(info.context.tenant.id, user.id)
        result = await audit_query.page(qs, first, after)
        connection = _connection(result, qs)
        for edge in connection.edges:
            e = edge.node
            edge.node = LoginAttempt(at=e.at, ip=e.ip, user_agent=e.user_agent, outcome=audit_query.LOGIN_ACTIONS[e.action])
        return connection


async def _zero() -> int:
    return 0
