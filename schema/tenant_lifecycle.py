"""The owner's export of everything the tenant holds (before closing it, or to keep a copy)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role
from seva_crm.core.common.errors import DomainError
from seva_crm.core.identity.closed_tenant import acting_as, closed_tenant_owner
from seva_crm.core.privacy import retention, tenant_export
from seva_crm.schema.errors import UserError, user_errors
from seva_crm.schema.permissions import needs


@strawberry.type
class TenantExportPayload:
    url: str | None = strawberry.field(default=None, description="Signed download link of the zip (under SEVA_PUBLIC_URL)")
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


@strawberry.type
class ClosedTenantPayload:
    ok: bool = False
    url: str | None = strawberry.field(default=None, description="Signed download link of the zip (under SEVA_PUBLIC_URL)")
    expires_at: datetime | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _as_closed_owner(info: Info, email: str, password: str, work) -> ClosedTenantPayload:
    """Check the owner's credentials (throttled as a sign-in), then run ``work(tenant_id)`` with the
    owner as the audit actor; its (url, expires) or None become the payload."""
    ip, agent = info.context.client_ip, info.context.request.headers.get("user-agent", "")
    try:
        owner = await closed_tenant_owner(email, password, ip=ip, user_agent=agent)
        async with acting_as(owner, ip, agent):
            link = await work(owner.tenant_id)
    except DomainError as exc:
        return ClosedTenantPayload(errors=user_errors(exc))
    url, expires = link or (None, None)
    return ClosedTenantPayload(ok=True, url=url, expires_at=expires)


@strawberry.type
class ClosedTenantMutation:
    """For the owner of a closed tenant during the grace period, who can no longer sign in: the
    owner's email and password go with the call, checked and throttled as a sign-in."""

    @strawberry.mutation(description="Reopen the caller's closed tenant during the grace period (owner's email and "
                                     "password; sign-ins work again). Audited as tenant.reopened.")
    async def closed_tenant_reopen(self, info: Info, email: str, password: str) -> ClosedTenantPayload:
        async def reopen(tenant_id):
            await retention.reopen_tenant(tenant_id)

        return await _as_closed_owner(info, email, password, reopen)

    @strawberry.mutation(description="Export everything the caller's closed tenant holds, during the grace period "
                                     "(owner's email and password), behind a signed, expiring link. Audited.")
    async def closed_tenant_export(self, info: Info, email: str, password: str) -> ClosedTenantPayload:
        return await _as_closed_owner(info, email, password, tenant_export.export_closed_tenant)
