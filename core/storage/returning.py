"""UPDATE ... RETURNING through Tortoise (which has no such call): which rows an update changed,
in the same statement, so a batch claim knows exactly the rows it took (PostgreSQL, SQLite >= 3.35)."""

from __future__ import annotations

from typing import Any

from tortoise.queryset import UpdateQuery


async def update_returning(query: UpdateQuery, column: str = "id") -> list[Any]:
    """Run ``Model.filter(...).update(...)`` and return ``column`` of every row it changed."""
    query._choose_db_if_not_chosen(True)
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    sql = f'{sql} RETURNING "{column}"'
    if query._db.capabilities.dialect != "sqlite":
        # Tortoise's asyncpg client fetches no rows for a statement starting with UPDATE
        sql = f'WITH changed AS ({sql}) SELECT "{column}" FROM changed'
    _, rows = await query._db.execute_query(sql, params)
    return [row[column] for row in rows]
