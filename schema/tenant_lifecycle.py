"""The owner's export of everything the tenant holds (before closing it, or to keep a copy)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role
from seva_crm.core.privacy import tenant_export
from seva_crm.schema.errors import UserError
from seva_crm.schema.permissions import needs


@strawberry.type
class TenantExportPayload:
    url: str | None = strawberry.field(default=None, description="Signed download link of the zip (relative to this server)")
    expires_at: datetime | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TenantExportMutation:
    @strawberry.mutation(permission_classes=needs(Role.OWNER),
                         description="Export every table of the caller's tenant as one zip (CSV and JSON per table; "
                                     "secrets and password digests left out) behind a signed, expiring link. Audited.")
    async def tenant_export(self, info: Info) -> TenantExportPayload:
        url, expires = await tenant_export.export_tenant(info.context.tenant.id)
        return TenantExportPayload(url=url, expires_at=expires)
