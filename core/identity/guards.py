"""Who may act on which member of staff: the rules shared by staff management and sessions."""

from __future__ import annotations

from uuid import UUID

from seva_crm.core.common.enums import Role
from seva_crm.core.common.errors import DomainError, ErrorCode, Forbidden, NotFound
from seva_crm.core.common.principal import Principal
from seva_crm.core.models import User


async def managed_user(caller: Principal | None, user_id: UUID, *, allow_self: bool, field: str = "id") -> User:
    """The user ``caller`` may manage. ``caller`` None is the operator at the command line, who
    may manage anyone. Otherwise the user must be in the caller's tenant (else: not found), and
    the caller must be the user themself (when ``allow_self``) or an admin whose role is not below
    the user's: nobody acts on someone above their own role."""
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound("user", field)
    if caller is None:
        return user
    if caller.tenant is None or user.tenant_id != caller.tenant.id:
        raise NotFound("user", field)
    if allow_self and caller.user_id == user.id:
        return user
    if not caller.has_role(Role.ADMIN):
        raise Forbidden("requires the admin role or above in a tenant")
    if user.role.rank > caller.role.rank:
        raise DomainError.of(field, ErrorCode.FORBIDDEN, "cannot manage a user whose role is above your own")
    return user
