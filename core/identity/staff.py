"""The lifecycle of a staff account: deactivating and reactivating it, changing its role, and
(for the operator) setting its password. Each takes the caller (``None``: the operator at the
command line), takes effect on the account's next request, and is audited with its actor.

The rules: only admins and owners manage others, and never anyone above their own role; nobody
grants a role above their own; only an owner makes or unmakes an owner; and a tenant always keeps
at least one active owner."""

from __future__ import annotations

from uuid import UUID

from tortoise.transactions import in_transaction

from seva_crm.core.platform import audit
from seva_crm.core.common.enums import Role, SessionEndReason
from seva_crm.core.common.errors import DomainError, ErrorCode, Forbidden
from seva_crm.core.common.principal import Principal
from seva_crm.core.common.security import hash_password, utcnow
from seva_crm.core.common.validation import check_password
from seva_crm.core.identity.guards import managed_user
from seva_crm.core.identity.sessions import end_user_sessions
from seva_crm.core.models import Tenant, User


def _needs_admin(caller: Principal | None) -> None:
    if caller is not None and not caller.has_role(Role.ADMIN):
        raise Forbidden("requires the admin role or above in a tenant")


async def _keep_an_owner(user: User, field: str) -> None:
    """Inside a transaction: refuse if ``user`` is their tenant's last active owner. Locks the
    tenant's row first, so two owners removing each other at once cannot both succeed."""
    if user.tenant_id is None or user.role is not Role.OWNER or not user.is_active:
        return
    await Tenant.filter(id=user.tenant_id).select_for_update().first()
    others = await User.filter(tenant_id=user.tenant_id, role=Role.OWNER, is_active=True).exclude(id=user.id).count()
    if others == 0:
        raise DomainError.of(field, ErrorCode.INVALID, "a tenant needs an active owner: make someone else an owner first")


async def deactivate(caller: Principal | None, user_id: UUID) -> User:
    """Sign the user out everywhere and refuse their tokens and API keys from the next request on."""
    _needs_admin(caller)
    user = await managed_user(caller, user_id, allow_self=True)
    if not user.is_active:
        return user
    async with in_transaction():
        await _keep_an_owner(user, "id")
        await User.filter(id=user.id).update(is_active=False, updated_at=utcnow())
        user.is_active = False
        await audit.record(user.tenant_id, "user.deactivated", subject_type="user", subject_id=user.id,
                           changed=["is_active"], details={"role": user.role.value})
        await end_user_sessions(user, SessionEndReason.USER_DEACTIVATED)
    return user


async def reactivate(caller: Principal | None, user_id: UUID) -> User:
    """Let the user sign in again (their old sessions stay ended)."""
    _needs_admin(caller)
    user = await managed_user(caller, user_id, allow_self=False)
    if user.is_active:
        return user
    async with in_transaction():
        await User.filter(id=user.id).update(is_active=True, updated_at=utcnow())
        user.is_active = True
        await audit.record(user.tenant_id, "user.reactivated", subject_type="user", subject_id=user.id,
                           changed=["is_active"], details={"role": user.role.value})
    return user


async def change_role(caller: Principal | None, user_id: UUID, role: Role) -> User:
    """Give the user ``role``; their next request, with any token, acts with it."""
    _needs_admin(caller)
    if caller is not None and role.rank > caller.role.rank:
        raise DomainError.of("role", ErrorCode.FORBIDDEN, "cannot grant a role above your own")
    user = await managed_user(caller, user_id, allow_self=True)
    if user.tenant_id is None:
        raise DomainError.of("id", ErrorCode.INVALID, "an operator superuser has no tenant role")
    if caller is not None and Role.OWNER in (role, user.role) and caller.role is not Role.OWNER:
        raise DomainError.of("role", ErrorCode.FORBIDDEN, "only an owner makes or unmakes an owner")
    if user.role is role:
        return user
    before = user.role
    async with in_transaction():
        if role is not Role.OWNER:
            await _keep_an_owner(user, "role")
        await User.filter(id=user.id).update(role=role, updated_at=utcnow())
        user.role = role
        await audit.record(user.tenant_id, "user.role_changed", subject_type="user", subject_id=user.id,
                           changed=["role"], details={"from": before.value, "to": role.value})
    return user


async def set_password(user_id: UUID, password: str) -> User:
    """The operator sets a user's password (``seva user set-password``): every session ends."""
    check_password(password)
    user = await managed_user(None, user_id, allow_self=False)
    password_hash = await hash_password(password)
    async with in_transaction():
        await User.filter(id=user.id).update(password_hash=password_hash, updated_at=utcnow())
        user.password_hash = password_hash
        await audit.record(user.tenant_id, "user.password_set", subject_type="user", subject_id=user.id,
                           changed=["password_hash"])
        await end_user_sessions(user, SessionEndReason.PASSWORD_RESET)
    return user
