"""Search that forgives: ``customerSearch`` finds customers by name however it is spelt (any
script, honorifics, abbreviations, typos), by a phone fragment, or by email; best first."""

from __future__ import annotations

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.customers import search
from seva_crm.schema.customers import Customer
from seva_crm.schema.permissions import needs


@strawberry.type(description="One customer found by customerSearch, with how close it is.")
class CustomerSearchHit:
    customer: Customer
    score: float = strawberry.field(description="0-100: 100 is the same name, phone or email")
    matched: str = strawberry.field(description="What matched: name, phone or email")


@strawberry.type
class CustomerSearchQuery:
    @strawberry.field(
        permission_classes=needs(CoreRole.VIEWER),
        description="Live customers whose name sounds like the text (Latin, Devanagari or Bengali; "
        "Md/Mohd/Mohammad, Smt/Shri dropped, typos forgiven), whose phone holds its digits (any local "
        f"format), or whose email contains it; best first, at most {search.MAX_RESULTS}.",
    )
    async def customer_search(self, info: Info, text: str, first: int = 20) -> list[CustomerSearchHit]:
        hits = await search.search_customers(info.context.tenant, text, first)
        return [CustomerSearchHit(customer=h.customer, score=h.score, matched=h.matched) for h in hits]
