"""A member of staff's own data: a copy of it, and erasing their account (core.privacy.own_data)."""

from __future__ import annotations

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.errors import DomainError
from seva_crm.core.privacy import own_data
from seva_crm.schema.errors import UserError, user_errors
from seva_crm.schema.permissions import needs


@strawberry.type
class MyDataPayload:
    data: JSON | None = strawberry.field(description="account, sessions, API keys created: as JSON")
    errors: list[UserError]


@strawberry.type
class MyAccountErasePayload:
    erased: bool
    errors: list[UserError]


@strawberry.type
class PrivacySelfMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.VIEWER),
                         description="A copy of everything held about your own staff account (audited).")
    async def my_data_export(self, info: Info) -> MyDataPayload:
        try:
            return MyDataPayload(data=await own_data.export_own(info.context.principal.user_id), errors=[])
        except DomainError as exc:
            return MyDataPayload(data=None, errors=user_errors(exc))

    @strawberry.mutation(permission_classes=needs(CoreRole.VIEWER),
                         description="Erase your own staff account (not possible for the owner of an open tenant).")
    async def my_account_erase(self, info: Info, confirm_email: str) -> MyAccountErasePayload:
        try:
            await own_data.erase_own(info.context.principal.user_id, confirm_email)
        except DomainError as exc:
            return MyAccountErasePayload(erased=False, errors=user_errors(exc))
        return MyAccountErasePayload(erased=True, errors=[])
