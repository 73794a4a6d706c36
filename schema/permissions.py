"""Permission classes, declared beside each field: ``permission_classes=needs(Role.AGENT)``."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from seva_crm.core.common.enums import Role


class SignedIn(BasePermission):
    message = "Authentication required: missing, invalid or expired token"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info, **kwargs: Any) -> bool:
        return info.context.principal is not None


class _RoleAtLeast(BasePermission):
    role: Role
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info, **kwargs: Any) -> bool:
        return info.context.principal.has_role(self.role)


def _role_class(role: Role) -> type[BasePermission]:
    return type(f"{role.name.title()}OrAbove", (_RoleAtLeast,),
                {"role": role, "message": f"Requires the {role.value} role or above in a tenant"})


_BY_ROLE = {role: _role_class(role) for role in Role}


class Superuser(BasePermission):
    message = "Requires an operator superuser"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info, **kwargs: Any) -> bool:
        return info.context.principal.is_superuser


def needs(role: Role) -> list[type[BasePermission]]:
    """Signed in, acting for a tenant, with ``role`` or a stronger one."""
    return [SignedIn, _BY_ROLE[role]]


OPERATOR = [SignedIn, Superuser]
