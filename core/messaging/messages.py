"""Messages as staff see and send them: listing the outbox, and sending a template to a customer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from tortoise.queryset import QuerySet

from seva_crm.core.messaging import outbox, templates
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.customers.customers import get_customer
from seva_crm.core.common.enums import MessageStatus
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.models import Message
from seva_crm.core.common.paging import SortKey, datetime_key
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.storage.transactions import transaction

SORTS: dict[str, SortKey] = {
    "CREATED_AT_DESC": datetime_key("created_at", True),
    "CREATED_AT_ASC": datetime_key("created_at", False),
}


@dataclass
class MessageFilter:
    customer_id: UUID | None = None
    statuses: list[MessageStatus] = field(default_factory=list)
    channel: str | None = None


def message_queryset(tenant_id: UUID, f: MessageFilter) -> QuerySet[Message]:
    qs = Message.filter(tenant_id=tenant_id)
    if f.customer_id is not None:
        qs = qs.filter(customer_id=f.customer_id)
    if f.statuses:
        qs = qs.filter(status__in=[MessageStatus(s) for s in f.statuses])
    if f.channel:
        qs = qs.filter(channel=f.channel.strip().lower())
    return qs


async def send_template(tenant: TenantScope, customer_id: UUID | None, template_key: str,
                        variables: dict[str, Any] | None, purpose: Purpose | None = None) -> Message:
    """Render a template (the tenant's, else the built-in one) in the customer's language and
    queue it in the outbox. ``purpose`` defaults to the template's; a marketing template cannot
    be sent as a service message."""
    template = await templates.get_template(tenant.id, template_key)
    if variables is not None and not isinstance(variables, dict):
        raise DomainError.of("variables", ErrorCode.INVALID, "must be an object of names to values")
    purpose = Purpose(purpose) if purpose else template.purpose
    if template.purpose is Purpose.MARKETING and purpose is Purpose.SERVICE:
        raise DomainError.of("purpose", ErrorCode.INVALID, "this template is marketing and needs marketing consent")
    customer = await get_customer(tenant.id, customer_id, "customer")
    if customer.deleted_at is not None:
        raise DomainError.of("customer", ErrorCode.NOT_FOUND, "customer not found")
    given = {"name": customer.name, **(variables or {})}
    body = templates.render(template, given, customer.language.value)
    async with transaction():
        return await outbox.queue_message(tenant.id, customer.id, purpose=purpose, template=template.key, body=body,
                                          variables={k: v for k, v in given.items() if k in template.variables})
