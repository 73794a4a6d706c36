"""Relay connections over keyset pages (see core.paging)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry
from tortoise.queryset import QuerySet

from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.paging import SortKey, count_up_to, paginate

NodeT = TypeVar("NodeT")
MAX_COUNT_CEILING = 100_000


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A count that stops at a ceiling, so it costs the same on a list of any length.")
class CappedCount:
    count: int = strawberry.field(description="Rows matching, counted up to the ceiling asked for")
    is_exact: bool = strawberry.field(description="false: the ceiling was reached, at least `count` rows match")


class LazyPageInfo:
    """A PageInfo whose cursors are encoded only when asked for (a nested preview on every row of
    a list would otherwise encode two per row)."""

    __slots__ = ("has_next_page", "has_previous_page", "_items", "_cursor")

    def __init__(self, has_next_page: bool, has_previous_page: bool, items: list, cursor: Callable[[object], str]) -> None:
        self.has_next_page, self.has_previous_page, self._items, self._cursor = has_next_page, has_previous_page, items, cursor

    @property
    def start_cursor(self) -> str | None:
        return self._cursor(self._items[0]) if self._items else None

    @property
    def end_cursor(self) -> str | None:
        return self._cursor(self._items[-1]) if self._items else None


def _edge_cursor(root: Edge) -> str:
    return root.cursor_of(root.node)


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(resolver=_edge_cursor)  # computed only when asked for
    node: NodeT
    cursor_of: strawberry.Private[Callable[[object], str]]


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]
    count_up_to: strawberry.Private[Callable[[int], Awaitable[int]]]

    @strawberry.field(description="How many rows match, over all pages. Costs a COUNT query: ask only when shown.")
    async def total_count(self) -> int:
        return await self.count()

    @strawberry.field(description="How many rows match, counting at most `max` (1 to 100000): as fast on a million rows "
                      "as on ten thousand, where totalCount reads every matching row.")
    async def capped_count(self, max: int = 10_000) -> CappedCount:
        if not 1 <= max <= MAX_COUNT_CEILING:
            raise DomainError.of("max", ErrorCode.INVALID, f"must be between 1 and {MAX_COUNT_CEILING}")
        n = await self.count_up_to(max + 1)
        return CappedCount(count=min(n, max), is_exact=n <= max)


async def connection(
    qs: QuerySet, sort: SortKey, first: int | None, after: str | None, last: int | None, before: str | None
) -> Connection:
    page = await paginate(qs, sort, first=first, after=after, last=last, before=before)
    edges = [Edge(cursor_of=page.cursor, node=item) for item in page.items]
    return Connection(
        edges=edges,
        page_info=LazyPageInfo(page.has_next, page.has_previous, page.items, page.cursor),
        count=qs.count,
        # in the list's order: the index that serves the page bounds the count too
        count_up_to=lambda ceiling: count_up_to(qs.order_by(sort.field, "id"), ceiling),
    )


def list_connection(items: list, total: int, cursor: Callable[[object], str], *,
                    rest: Callable[[], QuerySet] | None = None, order: tuple[str, ...] = ("id",)) -> Connection:
    """A connection over rows already loaded (a nested preview, e.g. a customer's latest records).
    ``total`` is how many rows were loaded; with ``rest`` (makes the whole list's query), more than
    ``items`` were loaded only to know there is a next page, so the counts ask ``rest`` (in
    ``order``, the order of the index that serves it) when and only when they are asked for."""
    edges = [Edge(cursor_of=cursor, node=item) for item in items]
    complete = rest is None or total <= len(items)

    async def count() -> int:
        return total if complete else await rest().count()

    async def up_to(ceiling: int) -> int:
        if complete or ceiling <= total:
            return min(total, ceiling)
        return await count_up_to(rest().order_by(*order), ceiling)

    return Connection(
        edges=edges,
        page_info=LazyPageInfo(total > len(items), False, items, cursor),
        count=count,
        count_up_to=up_to,
    )


def cursor_page(pairs: list[tuple[str, object]], has_next: bool, has_previous: bool) -> Connection:
    """A page whose rows come with their own cursors (a page merged from several tables, such as a
    timeline); its counts are of this page."""
    cursors = {id(node): cursor for cursor, node in pairs}
    edges = [Edge(cursor_of=lambda node: cursors[id(node)], node=node) for _, node in pairs]

    async def count() -> int:
        return len(pairs)

    async def up_to(ceiling: int) -> int:
        return min(len(pairs), ceiling)

    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, has_previous_page=has_previous,
                           start_cursor=pairs[0][0] if pairs else None, end_cursor=pairs[-1][0] if pairs else None),
        count=count,
        count_up_to=up_to,
    )
