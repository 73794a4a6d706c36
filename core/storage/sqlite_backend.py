"""SQLite engine for Tortoise whose transactions take the write lock at BEGIN (BEGIN IMMEDIATE).

In WAL mode a deferred transaction that reads and then writes fails at once with "database is
locked" if another connection committed in between (SQLITE_BUSY_SNAPSHOT: no busy timeout waits
that out). The in-process job runner has a connection of its own, so a small centre's one
process writes from two connections. Taking the lock up front makes a writer wait for the other
(sqlite3's busy timeout) instead of failing. PostgreSQL needs none of this.

SQLite also has no timestamp type: a datetime is bound as ISO text with its offset, and compared
as text, so ``2026-03-01 00:00+05:30`` would sort after ``2026-02-28 20:00+00:00`` though it is
earlier. Every datetime parameter is therefore bound in UTC (as the stored values are), and a
naive one, whose zone nobody knows, is refused before it reaches the database."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from typing import Any

from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.exceptions import TransactionManagementError


class NaiveDatetimeError(TypeError):
    """A datetime without a time zone was about to be bound to a query."""


def utc_param(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(f"naive datetime {value.isoformat()} bound to a query; use an aware one (UTC)")
        return value.astimezone(timezone.utc)
    return value


def utc_params(values: Any) -> Any:
    return [utc_param(v) for v in values] if values else values


class UtcParameters:
    """Binds every datetime parameter in UTC (see the module's docstring)."""

    async def execute_insert(self, query: str, values: list) -> int:
        return await super().execute_insert(query, utc_params(values))  # type: ignore[misc]

    async def execute_many(self, query: str, values: list[list]) -> None:
        await super().execute_many(query, [utc_params(row) for row in values])  # type: ignore[misc]

    async def execute_query(self, query: str, values: list | None = None) -> Any:
        return await super().execute_query(query, utc_params(values))  # type: ignore[misc]

    async def execute_query_dict(self, query: str, values: list | None = None) -> list[dict]:
        return await super().execute_query_dict(query, utc_params(values))  # type: ignore[misc]


class ImmediateTransactionWrapper(UtcParameters, SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(UtcParameters, SqliteClient):
    def _in_transaction(self) -> SqliteTransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
