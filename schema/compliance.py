"""The tenant's compliance report for owners and admins: sections of items, and a printable page."""

from __future__ import annotations

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role
from seva_crm.core.common.security import utcnow
from seva_crm.core.models import Tenant
from seva_crm.core.privacy import compliance
from seva_crm.schema.permissions import needs


@strawberry.type(description="One line of the report.")
class ComplianceItem:
    label: str
    value: str
    status: str = strawberry.field(description="met, not_met or info")
    detail: str


@strawberry.type(description="One section: duties, requests, consent, disclosures, audit.")
class ComplianceSection:
    key: str
    title: str
    status: str = strawberry.field(description="met, not_met, info or not_available")
    items: list[ComplianceItem]


def _section(s: compliance.Section) -> ComplianceSection:
    return ComplianceSection(key=s.key, title=s.title, status=s.status,
                             items=[ComplianceItem(label=i.label, value=i.value, status=i.status, detail=i.detail) for i in s.items])


@strawberry.type
class ComplianceQuery:
    @strawberry.field(permission_classes=needs(Role.ADMIN),
                      description="Duties and whether each is met, open requests with days left, consent coverage, "
                                  "disclosures by provider, the last audit verification.")
    async def compliance_report(self, info: Info) -> list[ComplianceSection]:
        return [_section(s) for s in await compliance.report(info.context.tenant.id, utcnow())]

    @strawberry.field(permission_classes=needs(Role.ADMIN), description="The compliance report as a printable HTML page.")
    async def compliance_report_html(self, info: Info) -> str:
        now = utcnow()
        tenant = await Tenant.get(id=info.context.tenant.id)
        return compliance.render_html(tenant, await compliance.report(tenant.id, now), now)
