"""Gateway payments held for staff (``core.billing.gateway_reviews``): the list, and resolving one."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from seva_crm.core.billing import gateway_reviews
from seva_crm.core.common import enums
from seva_crm.core.common.enums import Role
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.models import GatewayReview as ReviewRow
from seva_crm.schema.billing import Invoice
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs
from seva_crm.schema.scalars import BigInt

GatewayReviewKind = strawberry.enum(enums.GatewayReviewKind, description="Why a gateway payment was held for staff.")
GatewayReviewResolution = strawberry.enum(enums.GatewayReviewResolution, description="How staff settled a held gateway payment.")


@strawberry.type(description="A payment a gateway took that was not recorded on its invoice: held for staff to accept, refund "
                             "or dismiss.")
class GatewayReview:
    @strawberry.field
    def id(self: ReviewRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("GatewayReview", self.id))

    provider: str
    provider_payment_id: str
    kind: GatewayReviewKind
    amount: BigInt = strawberry.field(description="Minor units the gateway took, in currency")
    currency: str = strawberry.field(description="As the gateway reported it")
    expected_amount: BigInt = strawberry.field(description="Minor units the invoice had due, in its currency")
    detail: str
    received_at: datetime
    created_at: datetime
    resolution: GatewayReviewResolution | None
    resolved_at: datetime | None
    provider_refund_id: str | None

    @strawberry.field
    async def invoice(self: ReviewRow, info: Info) -> Invoice | None:
        return await info.context.loaders.invoice.load(self.invoice_id) if self.invoice_id else None


@strawberry.type
class GatewayReviewPayload:
    review: GatewayReview | None
    errors: list[UserError]


@strawberry.type
class GatewayReviewQuery:
    @strawberry.field(permission_classes=needs(Role.VIEWER), description=(
        "Gateway payments held for staff, newest first (at most 100): open ones by default, resolved ones with resolved: true, "
        "all with resolved: null."))
    async def gateway_reviews(self, info: Info, resolved: bool | None = False) -> list[GatewayReview]:
        return await gateway_reviews.list_reviews(info.context.tenant.id, resolved=resolved)


@strawberry.type
class GatewayReviewMutation:
    @strawberry.mutation(permission_classes=needs(Role.ADMIN), description=(
        "Settle a held gateway payment: ACCEPTED records it on its invoice as taken, REFUNDED gives it back through its "
        "gateway, DISMISSED notes it was settled outside Seva."))
    async def gateway_review_resolve(self, info: Info, id: strawberry.ID, resolution: GatewayReviewResolution) -> GatewayReviewPayload:
        work = gateway_reviews.resolve(info.context.tenant, from_global_id(id, "GatewayReview"), enums.GatewayReviewResolution(resolution),
                                       user_id=info.context.principal.user_id)
        return await payload(GatewayReviewPayload, "review", work)
