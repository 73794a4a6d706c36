"""Keyset pagination over (sort key, id): stable under inserts and fast at any depth."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from seva_crm.core.common.errors import DomainError, ErrorCode

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
T = TypeVar("T")


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False
    parse: Callable[[str], Any] = str  # cursor text back to a column value
    attr: str | None = None  # the row's attribute holding the value, when ``field`` is another table's copy of it

    def value(self, obj) -> Any:
        return getattr(obj, self.attr or self.field)


def datetime_key(field: str, descending: bool) -> SortKey:
    return SortKey(field, descending, datetime.fromisoformat)


def date_key(field: str, descending: bool) -> SortKey:
    return SortKey(field, descending, date.fromisoformat)


@dataclass
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    has_previous: bool
    sort: SortKey

    def cursor(self, obj) -> str:
        return encode_cursor(self.sort.value(obj), obj.id)


def encode_cursor(value: Any, id: UUID) -> str:
    text = value.isoformat() if isinstance(value, (date, datetime)) else value
    return base64.urlsafe_b64encode(json.dumps([text, str(id)]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: SortKey, field: str) -> tuple[Any, UUID]:
    try:
        text, id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return sort.parse(text), UUID(id)
    except (ValueError, TypeError):
        raise DomainError.of(field, ErrorCode.INVALID, "not a cursor from this list") from None


async def paginate(
    qs: QuerySet, sort: SortKey, *, first: int | None = None, after: str | None = None,
    last: int | None = None, before: str | None = None,
) -> Page:
    """One page of ``qs`` ordered by ``sort`` then id. ``first/after`` pages forward,
    ``last/before`` backward; at most MAX_PAGE_SIZE rows."""
    if first is not None and last is not None:
        raise DomainError.of("first", ErrorCode.INVALID, "give first or last, not both")
    size = first if first is not None else last if last is not None else DEFAULT_PAGE_SIZE
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise DomainError.of("first" if last is None else "last", ErrorCode.INVALID, f"must be between 0 and {MAX_PAGE_SIZE}")
    backward = last is not None or (before is not None and first is None)
    if after is not None:
        qs = qs.filter(_beyond(sort, *decode_cursor(after, sort, "after"), forward=True))
    if before is not None:
        qs = qs.filter(_beyond(sort, *decode_cursor(before, sort, "before"), forward=False))
    descending = sort.descending != backward
    order = ("-" if descending else "") + sort.field, ("-" if descending else "") + "id"
    rows = await qs.order_by(*order).limit(size + 1)
    more = len(rows) > size
    rows = rows[:size]
    if backward:
        rows.reverse()
        return Page(rows, has_next=before is not None, has_previous=more, sort=sort)
    return Page(rows, has_next=more, has_previous=after is not None, sort=sort)


async def count_up_to(qs: QuerySet, ceiling: int) -> int:
    """How many rows ``qs`` matches, but at most ``ceiling``: reads no more than ``ceiling`` index
    entries however long the list is (an exact COUNT reads every one)."""
    ids = qs.limit(ceiling).values_list("id", flat=True)
    ids._choose_db_if_not_chosen()
    ids._make_query()
    sql, params = ids.query.get_parameterized_sql()
    _, rows = await ids._db.execute_query(f"SELECT COUNT(*) AS n FROM ({sql}) AS capped", params)
    return int(rows[0]["n"])


def _beyond(sort: SortKey, value: Any, id: UUID, *, forward: bool) -> Q:
    """Rows strictly after (forward) or before the cursor row in the list's order. The first,
    redundant bound (``field <= value``) is one an index on (tenant, field, id) can seek to;
    without it the OR makes the database read the list from its start and discard every row
    before the cursor, so a deep page costs as much as the whole list."""
    op = "gt" if forward != sort.descending else "lt"
    return Q(**{f"{sort.field}__{op}e": value}) & (
        Q(**{f"{sort.field}__{op}": value}) | Q(**{sort.field: value, f"id__{op}": id})
    )
