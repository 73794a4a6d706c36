"""Sign-in, the caller's own account, staff users, API keys and (for operators) tenants."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry import Info

from seva_crm.core.identity import auth, staff, tenants
from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.enums import VerificationPurpose
from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.models import ApiKey as ApiKeyRow
from seva_crm.core.models import Tenant as TenantRow
from seva_crm.core.models import User as UserRow
from seva_crm.core.common.paging import datetime_key
from seva_crm.schema.enums import Region, Role, TenantStatus
from seva_crm.schema.errors import UserError, payload, user_errors
from seva_crm.schema.permissions import OPERATOR, SignedIn, needs
from seva_crm.schema.relay import Connection, connection
from seva_crm.schema.tenant_profile import TenantProfile, load_profile

NEWEST = datetime_key("created_at", True)


@strawberry.enum(description="Where a password reset code goes: the account's verified email address or phone number.")
class PasswordResetChannel(Enum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"


@strawberry.type
class Tenant:
    @strawberry.field
    def id(self: TenantRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Tenant", self.id))

    name: str
    region: Region
    timezone: str
    locale: str
    status: TenantStatus
    created_at: datetime

    @strawberry.field(description="How the business describes itself (legal name, address, tax ids, contact, logo)")
    async def profile(self: TenantRow) -> TenantProfile:
        return await load_profile(self.id)


@strawberry.type(description="A member of staff, or an operator superuser.")
class User:
    @strawberry.field
    def id(self: UserRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("User", self.id))

    email: str
    name: str
    role: Role
    is_superuser: bool
    is_active: bool
    phone: str | None
    email_verified: bool = strawberry.field(resolver=lambda root: root.email_verified_at is not None)
    phone_verified: bool = strawberry.field(resolver=lambda root: root.phone_verified_at is not None)
    last_login_at: datetime | None
    created_at: datetime

    @strawberry.field(description="The user's tenant (null for an operator): its id is the one webhook URLs ask for")
    async def tenant(self: UserRow) -> Tenant | None:
        return await TenantRow.get_or_none(id=self.tenant_id) if self.tenant_id else None


@strawberry.type(description="A server-to-server credential. The key itself is shown only when created.")
class ApiKey:
    @strawberry.field
    def id(self: ApiKeyRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("ApiKey", self.id))

    name: str
    role: Role
    prefix: str
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


@strawberry.type
class AuthPayload:
    access_token: str | None = None
    access_token_expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_token_expires_at: datetime | None = None
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _tokens(work) -> AuthPayload:
    try:
        pair: auth.TokenPair = await work
    except DomainError as exc:
        return AuthPayload(errors=user_errors(exc))
    return AuthPayload(
        access_token=pair.access_token, access_token_expires_at=pair.access_expires_at,
        refresh_token=pair.refresh_token, refresh_token_expires_at=pair.refresh_expires_at, user=pair.user,
    )


@strawberry.type
class OkPayload:
    ok: bool
    errors: list[UserError]


async def _ok(work) -> OkPayload:
    try:
        await work
    except DomainError as exc:
        return OkPayload(ok=False, errors=user_errors(exc))
    return OkPayload(ok=True, errors=[])


@strawberry.type
class UserPayload:
    user: User | None
    errors: list[UserError]


@strawberry.type
class TenantCreatePayload:
    tenant: Tenant | None = None
    owner: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiKeyCreatePayload:
    api_key: ApiKey | None = None
    key: str | None = strawberry.field(default=None, description="The secret key. Shown this once; store it now.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey | None
    errors: list[UserError]


def _user_id(info: Info):
    if info.context.principal.user_id is None:
        raise DomainError.of(None, ErrorCode.FORBIDDEN, "an API key has no user account")
    return info.context.principal.user_id


def user_id_arg(value: strawberry.ID, field: str = "id"):
    """The UUID behind a User global id; NotFound (a payload error) for anything else."""
    found = from_global_id(value, "User")
    if found is None:
        raise NotFound("user", field)
    return found


def _user_agent(info: Info) -> str:
    return info.context.request.headers.get("user-agent", "")


@strawberry.type
class StaffQuery:
    @strawberry.field(permission_classes=[SignedIn], description="The signed-in user (null for an API key).")
    async def me(self, info: Info) -> User | None:
        uid = info.context.principal.user_id
        return await UserRow.get_or_none(id=uid) if uid else None

    @strawberry.field(permission_classes=needs(CoreRole.ADMIN))
    async def users(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                    before: str | None = None) -> Connection[User]:
        return await connection(UserRow.filter(tenant_id=info.context.tenant.id), NEWEST, first, after, last, before)

    @strawberry.field(permission_classes=needs(CoreRole.ADMIN))
    async def api_keys(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                       before: str | None = None) -> Connection[ApiKey]:
        return await connection(ApiKeyRow.filter(tenant_id=info.context.tenant.id), NEWEST, first, after, last, before)

    @strawberry.field(permission_classes=OPERATOR)
    async def tenants(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                      before: str | None = None) -> Connection[Tenant]:
        return await connection(TenantRow.all(), NEWEST, first, after, last, before)


@strawberry.type
class StaffMutation:
    @strawberry.mutation(description="Sign in. Failed attempts are throttled per account and per IP.")
    async def login(self, info: Info, email: str, password: str) -> AuthPayload:
        return await _tokens(auth.login(email, password, ip=info.context.client_ip, user_agent=_user_agent(info)))

    @strawberry.mutation(description="Exchange a refresh token for new tokens; the old one stops working.")
    async def token_refresh(self, info: Info, refresh_token: str) -> AuthPayload:
        return await _tokens(auth.refresh(refresh_token, ip=info.context.client_ip))

    @strawberry.mutation(description="End the refresh token's session: every token rotated from the same sign-in, and the "
                                     "access tokens issued with them, stop working.")
    async def logout(self, refresh_token: str) -> OkPayload:
        return await _ok(auth.logout(refresh_token))

    @strawberry.mutation(permission_classes=[SignedIn])
    async def email_verification_start(self, info: Info) -> OkPayload:
        return await _ok(_start(info, VerificationPurpose.EMAIL, None))

    @strawberry.mutation(permission_classes=[SignedIn])
    async def email_verification_confirm(self, info: Info, code: str) -> UserPayload:
        return await payload(UserPayload, "user", _confirm(info, VerificationPurpose.EMAIL, code))

    @strawberry.mutation(permission_classes=[SignedIn], description="Send a code to this phone; confirming it makes it the user's.")
    async def phone_verification_start(self, info: Info, phone: str) -> OkPayload:
        return await _ok(_start(info, VerificationPurpose.PHONE, phone))

    @strawberry.mutation(permission_classes=[SignedIn])
    async def phone_verification_confirm(self, info: Info, code: str) -> UserPayload:
        return await payload(UserPayload, "user", _confirm(info, VerificationPurpose.PHONE, code))

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN),
                         description="Deactivate a user: their sessions end and their tokens and API keys stop working on the "
                                     "next request. Not a user above your own role, nor the tenant's last active owner.")
    async def user_deactivate(self, info: Info, id: strawberry.ID) -> UserPayload:
        return await payload(UserPayload, "user", _with_user(id, lambda uid: staff.deactivate(info.context.principal, uid)))

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN), description="Let a deactivated user sign in again.")
    async def user_reactivate(self, info: Info, id: strawberry.ID) -> UserPayload:
        return await payload(UserPayload, "user", _with_user(id, lambda uid: staff.reactivate(info.context.principal, uid)))

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN),
                         description="Change a user's role, effective on their next request. Nobody grants a role above their "
                                     "own; only an owner makes or unmakes an owner; a tenant keeps an active owner.")
    async def user_role_change(self, info: Info, id: strawberry.ID, role: Role) -> UserPayload:
        return await payload(UserPayload, "user", _with_user(id, lambda uid: staff.change_role(info.context.principal, uid, role)))

    @strawberry.mutation(permission_classes=[SignedIn],
                         description="Change your own password, giving the current one. Your other sessions end.")
    async def password_change(self, info: Info, current_password: str, new_password: str) -> UserPayload:
        return await payload(UserPayload, "user", auth.change_password(info.context.principal, current_password, new_password))

    @strawberry.mutation(description="Send a password reset code to the account's verified email (or phone). The answer is "
                                     "the same whether or not the account exists.")
    async def password_reset_start(self, info: Info, email: str, via: PasswordResetChannel = PasswordResetChannel.EMAIL) -> OkPayload:
        purpose = VerificationPurpose.EMAIL if via is PasswordResetChannel.EMAIL else VerificationPurpose.PHONE
        return await _ok(auth.start_password_reset(email, purpose, ip=info.context.client_ip))

    @strawberry.mutation(description="Set a new password with the code from passwordResetStart. Every session of the account ends.")
    async def password_reset_finish(self, info: Info, email: str, code: str, new_password: str) -> OkPayload:
        return await _ok(auth.finish_password_reset(email, code, new_password, ip=info.context.client_ip))

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN))
    async def api_key_create(self, info: Info, name: str, role: Role, expires_in_days: int | None = 365) -> ApiKeyCreatePayload:
        if role.rank > info.context.principal.role.rank:
            return ApiKeyCreatePayload(errors=[UserError(field="role", code=ErrorCode.FORBIDDEN,
                                                         message="cannot grant a role above your own")])
        p = info.context.principal
        try:
            row, key = await tenants.create_api_key(p.tenant.id, name, role, expires_in_days, p.user_id)
        except DomainError as exc:
            return ApiKeyCreatePayload(errors=user_errors(exc))
        return ApiKeyCreatePayload(api_key=row, key=key)

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN))
    async def api_key_revoke(self, info: Info, id: strawberry.ID) -> ApiKeyPayload:
        work = tenants.revoke_api_key(info.context.tenant.id, from_global_id(id, "ApiKey"))
        return await payload(ApiKeyPayload, "api_key", work)

    @strawberry.mutation(permission_classes=OPERATOR)
    async def tenant_create(self, name: str, region: Region, owner_email: str, owner_password: str,
                            owner_name: str = "") -> TenantCreatePayload:
        try:
            tenant, owner = await tenants.create_tenant(name, region, owner_email, owner_password, owner_name)
        except DomainError as exc:
            return TenantCreatePayload(errors=user_errors(exc))
        return TenantCreatePayload(tenant=tenant, owner=owner)


async def _with_user(id: strawberry.ID, work):
    return await work(user_id_arg(id))


async def _start(info: Info, purpose: VerificationPurpose, phone: str | None) -> None:
    await auth.start_verification(_user_id(info), purpose, phone)


async def _confirm(info: Info, purpose: VerificationPurpose, code: str):
    return await auth.confirm_verification(_user_id(info), purpose, code)
