"""Leads and the pipeline (core.crm.leads)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

import strawberry
from strawberry import UNSET, Info

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.crm import leads, settings
from seva_crm.core.models import Lead as LeadRow
from seva_crm.schema.customers import Customer, Money, customer_id, given
from seva_crm.schema.enums import Currency
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs
from seva_crm.schema.relay import Connection, connection


@strawberry.enum(description="Sort order of a lead list.")
class LeadOrder(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    NEXT_ACTION_AT_ASC = "NEXT_ACTION_AT_ASC"


@strawberry.type(description="Someone who may become a customer, at a stage of the tenant's pipeline.")
class Lead:
    @strawberry.field
    def id(self: LeadRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Lead", self.id))

    name: str
    phone: str | None
    email: str | None
    source: str
    stage: str
    next_action: str
    next_action_at: datetime | None
    notes: str
    converted_at: datetime | None
    created_at: datetime

    @strawberry.field(description="Expected value")
    def value(self: LeadRow) -> Money:
        return Money(amount=self.value_amount, currency=self.currency)

    @strawberry.field
    def owner_id(self: LeadRow) -> strawberry.ID | None:
        return strawberry.ID(to_global_id("User", self.owner_id)) if self.owner_id else None

    @strawberry.field(description="The customer it became")
    async def customer(self: LeadRow, info: Info) -> Customer | None:
        return await info.context.loaders.customer.load(self.customer_id) if self.customer_id else None


@strawberry.type(description="Leads not yet converted at one stage, and their expected value")
class PipelineStage:
    stage: str
    count: int
    totals: list[Money]


@strawberry.input
class LeadFilter:
    stages: list[str] | None = None
    owner_id: strawberry.ID | None = None
    open_only: bool = False


@strawberry.input
class LeadCreateInput:
    name: str
    phone: str | None = None
    email: str | None = None
    source: str | None = None
    stage: str | None = strawberry.field(default=None, description="Default: the pipeline's first stage")
    owner_id: strawberry.ID | None = None
    value_amount: int = strawberry.field(default=0, description="Minor units")
    currency: Currency | None = None
    next_action: str | None = None
    next_action_at: datetime | None = None
    notes: str | None = None


@strawberry.input(description="Only the fields given are changed")
class LeadUpdateInput:
    name: str | None = UNSET
    phone: str | None = UNSET
    email: str | None = UNSET
    source: str | None = UNSET
    stage: str | None = UNSET
    owner_id: strawberry.ID | None = UNSET
    value_amount: int | None = UNSET
    currency: Currency | None = UNSET
    next_action: str | None = UNSET
    next_action_at: datetime | None = UNSET
    notes: str | None = UNSET


@strawberry.type
class LeadPayload:
    lead: Lead | None
    errors: list[UserError]


@strawberry.type
class LeadStagesPayload:
    stages: list[str] | None
    errors: list[UserError]


def _data(values: dict) -> dict:
    if values.get("owner_id"):
        values["owner_id"] = from_global_id(values["owner_id"], "User") or UUID(int=0)
    return values


@strawberry.type
class LeadQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def lead(self, info: Info, id: strawberry.ID) -> Lead | None:
        lid = from_global_id(id, "Lead")
        return await LeadRow.get_or_none(id=lid, tenant_id=info.context.tenant.id) if lid else None

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def leads(self, info: Info, filter: LeadFilter | None = None, order_by: LeadOrder = LeadOrder.CREATED_AT_DESC,
                    first: int | None = None, after: str | None = None, last: int | None = None,
                    before: str | None = None) -> Connection[Lead]:
        f = leads.LeadFilter()
        if filter:
            f.stages = list(filter.stages or [])
            f.owner_id = (from_global_id(filter.owner_id, "User") or UUID(int=0)) if filter.owner_id else None
            f.open_only = filter.open_only
        qs = leads.lead_queryset(info.context.tenant.id, f)
        if order_by is LeadOrder.NEXT_ACTION_AT_ASC:
            qs = qs.filter(next_action_at__isnull=False)
        return await connection(qs, leads.SORTS[order_by.value], first, after, last, before)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="The pipeline's stages, in order")
    async def lead_stages(self, info: Info) -> list[str]:
        return await settings.lead_stages(info.context.tenant.id)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="Open leads by stage: count and expected value")
    async def pipeline_summary(self, info: Info) -> list[PipelineStage]:
        return [PipelineStage(stage=s["stage"], count=s["count"], totals=[Money(amount=v, currency=Currency(c))
                                                                           for c, v in sorted(s["totals"].items())])
                for s in await leads.pipeline(info.context.tenant.id)]


@strawberry.type
class LeadMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def lead_create(self, info: Info, input: LeadCreateInput) -> LeadPayload:
        data = _data({k: v for k, v in vars(input).items() if v is not None})
        return await payload(LeadPayload, "lead", leads.create_lead(info.context.tenant, data))

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def lead_update(self, info: Info, id: strawberry.ID, input: LeadUpdateInput) -> LeadPayload:
        work = leads.update_lead(info.context.tenant, from_global_id(id, "Lead"), _data(given(input)))
        return await payload(LeadPayload, "lead", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT),
                         description="Make the lead a customer (a new one, or customerId: one already known)")
    async def lead_convert(self, info: Info, id: strawberry.ID, customer_id: strawberry.ID | None = None) -> LeadPayload:
        work = leads.convert_lead(info.context.tenant, from_global_id(id, "Lead"), _customer(customer_id))
        return await payload(LeadPayload, "lead", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN), description="The pipeline's stages, in order")
    async def lead_stages_set(self, info: Info, stages: list[str]) -> LeadStagesPayload:
        return await payload(LeadStagesPayload, "stages", settings.set_lead_stages(info.context.tenant, stages))


def _customer(value: str | None) -> UUID | None:
    return (customer_id(value) or UUID(int=0)) if value else None
