"""Status notifications: the rules that message a customer when a service record or ticket
enters a status (core.crm.status_rules)."""

from __future__ import annotations

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.crm import status_rules
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs


@strawberry.type(description="Send a template to the customer when a subject enters a status.")
class StatusRule:
    subject: str = strawberry.field(description="service_record, ticket or subscription")
    status: str
    template: str
    enabled: bool
    default: bool = strawberry.field(description="Built in: in force until the tenant sets its own rule")


@strawberry.type
class StatusRulePayload:
    rule: StatusRule | None
    errors: list[UserError]


@strawberry.type
class StatusRuleQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def status_rules(self, info: Info) -> list[StatusRule]:
        return [StatusRule(**r) for r in await status_rules.rules(info.context.tenant.id)]


@strawberry.type
class StatusRuleMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN),
                         description="Set the tenant's rule for a subject and status (enabled: false turns it off)")
    async def status_rule_set(self, info: Info, subject: str, status: str, template: str, enabled: bool = True) -> StatusRulePayload:
        async def work():
            return StatusRule(**await status_rules.set_rule(info.context.tenant, subject, status, template, enabled))
        return await payload(StatusRulePayload, "rule", work())
