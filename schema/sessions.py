"""Sign-in sessions: one's own and (admins) other users', and ending them."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.common.errors import DomainError, NotFound
from seva_crm.core.common.paging import datetime_key
from seva_crm.core.identity import sessions
from seva_crm.core.models import Session as SessionRow
from seva_crm.schema.enums import SessionEndReason
from seva_crm.schema.errors import UserError, payload, user_errors
from seva_crm.schema.permissions import SignedIn
from seva_crm.schema.relay import Connection, connection
from seva_crm.schema.staff import user_id_arg

NEWEST = datetime_key("created_at", True)


@strawberry.type(description="One sign-in of a member of staff, with every token rotated from it. Ending it stops its "
                             "refresh token and its access tokens on the next request.")
class Session:
    @strawberry.field
    def id(self: SessionRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Session", self.id))

    @strawberry.field
    def user_id(self: SessionRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("User", self.user_id))

    @strawberry.field(description="Whether this is the session the request is made with.")
    def current(self: SessionRow, info: Info) -> bool:
        return info.context.principal.session_id == self.id

    ip: str = strawberry.field(description="The address it signed in from.")
    user_agent: str = strawberry.field(description="The client it signed in with.")
    last_ip: str = strawberry.field(description="The address of its latest use.")
    created_at: datetime
    last_used_at: datetime = strawberry.field(description="Its latest use (to the minute).")
    expires_at: datetime = strawberry.field(description="When it ends unless its refresh token is used again.")
    revoked_at: datetime | None
    revoked_reason: SessionEndReason | None

    @strawberry.field(description="How long it has lasted, in seconds: from sign-in to its end (or its latest use while open).")
    def duration_seconds(self: SessionRow) -> int:
        return max(0, int(((self.revoked_at or self.last_used_at) - self.created_at).total_seconds()))


@strawberry.type
class SessionPayload:
    session: Session | None
    errors: list[UserError]


@strawberry.type
class SessionRevokeAllPayload:
    count: int = strawberry.field(default=0, description="How many sessions ended.")
    errors: list[UserError] = strawberry.field(default_factory=list)


def _optional_user(user_id: strawberry.ID | None):
    return user_id_arg(user_id, "userId") if user_id is not None else None


@strawberry.type
class SessionQuery:
    @strawberry.field(permission_classes=[SignedIn],
                      description="Your sessions, newest first; with userId (admins), a user's in your tenant. Open ones "
                                  "only unless includeEnded.")
    async def sessions(self, info: Info, user_id: strawberry.ID | None = None, include_ended: bool = False,
                       first: int | None = None, after: str | None = None, last: int | None = None,
                       before: str | None = None) -> Connection[Session]:
        try:
            qs = await sessions.list_sessions(info.context.principal, _optional_user(user_id), include_ended=include_ended)
        except NotFound:  # no such user in the caller's tenant: none to show, as for any other object
            qs = SessionRow.filter(user_id=None)
        return await connection(qs, NEWEST, first, after, last, before)


@strawberry.type
class SessionMutation:
    @strawberry.mutation(permission_classes=[SignedIn],
                         description="End a session: your own, or (admins) a user's not above your role.")
    async def session_revoke(self, info: Info, id: strawberry.ID) -> SessionPayload:
        sid = from_global_id(id, "Session")

        async def work():
            if sid is None:
                raise NotFound("session")
            return await sessions.revoke_session(info.context.principal, sid)

        return await payload(SessionPayload, "session", work())

    @strawberry.mutation(permission_classes=[SignedIn],
                         description="End every session of a user: yours by default (keepCurrent spares the one you are "
                                     "using), or (admins) a user's not above your role.")
    async def session_revoke_all(self, info: Info, user_id: strawberry.ID | None = None,
                                 keep_current: bool = False) -> SessionRevokeAllPayload:
        try:
            count = await sessions.revoke_user_sessions(info.context.principal, _optional_user(user_id), keep_current=keep_current)
        except DomainError as exc:
            return SessionRevokeAllPayload(errors=user_errors(exc))
        return SessionRevokeAllPayload(count=count)
