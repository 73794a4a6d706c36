"""Adding staff: invitations by email (core.identity.invitations)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.errors import DomainError, NotFound
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.identity import auth, invitations
from seva_crm.core.models import Invitation as InvitationRow
from seva_crm.core.common.paging import datetime_key
from seva_crm.schema.enums import Role
from seva_crm.schema.errors import UserError, payload, user_errors
from seva_crm.schema.permissions import needs
from seva_crm.schema.relay import Connection, connection
from seva_crm.schema.staff import AuthPayload, _tokens, _user_agent


@strawberry.type(description="An invitation to join the tenant as staff. Its link goes only to the invited address.")
class Invitation:
    @strawberry.field
    def id(self: InvitationRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Invitation", self.id))

    email: str
    name: str
    role: Role
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


@strawberry.type
class InvitationPayload:
    invitation: Invitation | None
    errors: list[UserError]


def _invitation_id(value: strawberry.ID):
    found = from_global_id(value, "Invitation")
    if found is None:
        raise NotFound("invitation")
    return found


@strawberry.type
class InvitationQuery:
    @strawberry.field(permission_classes=needs(CoreRole.ADMIN), description="Invitations not yet accepted, withdrawn or expired.")
    async def invitations(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                          before: str | None = None) -> Connection[Invitation]:
        query = invitations.pending(info.context.principal)
        return await connection(query, datetime_key("created_at", True), first, after, last, before)


@strawberry.type
class InvitationMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN),
                         description="Invite someone to join as staff, by email; nobody grants a role above their own. The "
                                     "answer is the same whether or not the address has an account elsewhere.")
    async def user_invite(self, info: Info, email: str, role: Role, name: str = "") -> InvitationPayload:
        work = invitations.invite(info.context.principal, email, role, name)
        return await payload(InvitationPayload, "invitation", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN), description="Withdraw an invitation: its link stops working.")
    async def invitation_revoke(self, info: Info, id: strawberry.ID) -> InvitationPayload:
        async def work():
            return await invitations.revoke(info.context.principal, _invitation_id(id))
        return await payload(InvitationPayload, "invitation", work())

    @strawberry.mutation(description="Accept an invitation with the token from its link: the account is created with this "
                                     "password, and signed in.")
    async def invitation_accept(self, info: Info, token: str, password: str, name: str = "") -> AuthPayload:
        try:
            user = await invitations.accept(token, password, name)
        except DomainError as exc:
            return AuthPayload(errors=user_errors(exc))
        return await _tokens(auth.login(user.email, password, ip=info.context.client_ip, user_agent=_user_agent(info)))
