"""UPDATE ... RETURNING through Tortoise (which has no such call): which rows an update changed,
in the same statement, so a batch claim knows exactly the rows it took, and can read them as
they now are without another query (PostgreSQL, SQLite >= 3.35)."""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.queryset import UpdateQuery

M = TypeVar("M", bound=Model)


async def update_returning(query: UpdateQuery, column: str = "id") -> list[Any]:
    """Run ``Model.filter(...).update(...)`` and return ``column`` of every row it changed."""
    return [row[column] for row in await _returning(query, [column])]


async def update_returning_models(query: UpdateQuery, model: type[M], fields: tuple[str, ...]) -> list[M]:
    """Run ``model.filter(...).update(...)`` and return every row it changed as ``model`` instances
    holding only ``fields`` (their values after the update), as ``.only(*fields)`` reads them."""
    return [model._init_from_db(**dict(row)) for row in await _returning(query, list(fields))]


async def _returning(query: UpdateQuery, columns: list[str]) -> list:
    query._choose_db_if_not_chosen(True)
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    names = ", ".join(f'"{column}"' for column in columns)
    sql = f"{sql} RETURNING {names}"
    if query._db.capabilities.dialect != "sqlite":
        # Tortoise's asyncpg client fetches no rows for a statement starting with UPDATE
        sql = f"WITH changed AS ({sql}) SELECT {names} FROM changed"
    _, rows = await query._db.execute_query(sql, params)
    return rows
