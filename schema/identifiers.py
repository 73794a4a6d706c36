"""Customers' sensitive identifiers: shown masked to staff; the full value only through the
``customerIdentifierReveal`` mutation, for owners and admins, each reveal audited."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.customers import identifiers
from seva_crm.core.models import CustomerIdentifier as IdentifierRow
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs


@strawberry.type(description="An identity number recorded for a customer, masked (the last four characters).")
class CustomerIdentifier:
    @strawberry.field
    def id(self: IdentifierRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("CustomerIdentifier", self.id))

    kind: str = strawberry.field(description="aadhaar, voter_id, nid, pan or passport")

    @strawberry.field(description="The value masked: '•••• 1234'")
    def masked(self: IdentifierRow) -> str:
        return identifiers.masked(self)

    created_at: datetime
    updated_at: datetime


@strawberry.type
class CustomerIdentifierPayload:
    identifier: CustomerIdentifier | None
    errors: list[UserError]


@strawberry.type
class IdentifierRevealPayload:
    value: str | None
    errors: list[UserError]


@strawberry.type
class IdentifierQuery:
    @strawberry.field(permission_classes=needs(Role.VIEWER), description="A customer's identity numbers, masked.")
    async def customer_identifiers(self, info: Info, customer_id: strawberry.ID) -> list[CustomerIdentifier]:
        cid = from_global_id(customer_id, "Customer")
        return await identifiers.identifiers_of(info.context.tenant.id, cid) if cid else []


@strawberry.type
class IdentifierMutation:
    @strawberry.mutation(permission_classes=needs(Role.AGENT),
                         description="Record (or replace) a customer's identity number of a kind; validated (Aadhaar's "
                                     "Verhoeff check digit), encrypted at rest, audited without the value.")
    async def customer_identifier_set(self, info: Info, customer_id: strawberry.ID, kind: str,
                                      value: str) -> CustomerIdentifierPayload:
        return await payload(CustomerIdentifierPayload, "identifier", identifiers.set_identifier(
            info.context.tenant, from_global_id(customer_id, "Customer"), kind, value))

    @strawberry.mutation(permission_classes=needs(Role.ADMIN),
                         description="Show an identity number in full (owners and admins); every reveal is audited.")
    async def customer_identifier_reveal(self, info: Info, id: strawberry.ID) -> IdentifierRevealPayload:
        async def work():
            _, value = await identifiers.reveal(info.context.tenant, from_global_id(id, "CustomerIdentifier"))
            return value

        return await payload(IdentifierRevealPayload, "value", work())
