"""SQLite engine for Tortoise whose transactions take the write lock at BEGIN (BEGIN IMMEDIATE).

In WAL mode a deferred transaction that reads and then writes fails at once with "database is
locked" if another connection committed in between (SQLITE_BUSY_SNAPSHOT: no busy timeout waits
that out). The in-process job runner has a connection of its own, so a small centre's one
process writes from two connections. Taking the lock up front makes a writer wait for the other
(sqlite3's busy timeout) instead of failing. PostgreSQL needs none of this."""

from __future__ import annotations

import sqlite3

from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> SqliteTransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
