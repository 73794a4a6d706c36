"""Relay connections over keyset pages (see core.paging)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry
from tortoise.queryset import QuerySet

from seva_crm.core.common.paging import SortKey, paginate

NodeT = TypeVar("NodeT")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many rows match, over all pages. Costs a COUNT query: ask only when shown.")
    async def total_count(self) -> int:
        return await self.count()


async def connection(
    qs: QuerySet, sort: SortKey, first: int | None, after: str | None, last: int | None, before: str | None
) -> Connection:
    page = await paginate(qs, sort, first=first, after=after, last=last, before=before)
    edges = [Edge(cursor=page.cursor(item), node=item) for item in page.items]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=qs.count,
    )


def list_connection(items: list, total: int, cursor: Callable[[object], str]) -> Connection:
    """A connection over rows already loaded (a nested preview, e.g. a customer's latest records)."""
    edges = [Edge(cursor=cursor(item), node=item) for item in items]

    async def count() -> int:
        return total

    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=total > len(items),
            has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )
