"""Who is calling, and which tenant they act for. The tenant comes only from a verified
access token or API key, never from request arguments."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from seva_crm.core.common.enums import Region, Role


@dataclass(frozen=True, slots=True)
class TenantScope:
    """What every tenant-scoped service needs: the tenant's id, and its region for parsing phones."""

    id: UUID
    region: Region


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: UUID | None
    role: Role
    tenant: TenantScope | None
    is_superuser: bool = False
    api_key_id: UUID | None = None
    session_id: UUID | None = None  # the sign-in an access token belongs to

    def has_role(self, role: Role) -> bool:
        return self.tenant is not None and self.role.rank >= role.rank
