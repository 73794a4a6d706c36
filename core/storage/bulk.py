"""Many rows into one table at once, inside the current transaction: ``COPY`` on PostgreSQL
(asyncpg's ``copy_records_to_table``), one ``executemany`` on SQLite. For imports, where building a
Tortoise model per row costs more than the write itself. Rows hold Python values (UUID, aware
datetime, date, str, int, None; JSON already as text); the caller has validated them. A broken
constraint is Tortoise's ``IntegrityError`` on both."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from uuid import UUID

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import IntegrityError


CACHE_KIB = 64 * 1024  # SQLite's page cache during a large write (its default is 2 MiB)


@asynccontextmanager
async def large_write() -> AsyncIterator[None]:
    """Around the bulk inserts of one large transaction: on SQLite the connection's page cache
    grows to ``CACHE_KIB`` for the block (with the default 2 MiB, the pages of eight indexes
    touched by a large transaction spill to the WAL file and are read back, about a third of
    the insert's time for 100,000 customers), and is put back after. Memory only: what is
    written, and when it is durable, is unchanged. PostgreSQL needs nothing."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        yield
        return
    before = (await conn.execute_query("PRAGMA cache_size"))[1][0][0]
    await conn.execute_query(f"PRAGMA cache_size = {-CACHE_KIB}")
    try:
        yield
    finally:
        await conn.execute_query(f"PRAGMA cache_size = {int(before)}")


def is_postgres() -> bool:
    return connections.get("default").capabilities.dialect == "postgres"


async def insert(table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    if not rows:
        return
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        import asyncpg

        try:  # the transaction's own asyncpg connection (Tortoise has no COPY of its own)
            await conn._connection.copy_records_to_table(table, records=rows, columns=list(columns))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(exc) from exc  # as Tortoise reports it on every database
        return
    if not isinstance(conn, TransactionalDBClient):
        raise RuntimeError("bulk.insert runs inside a transaction")
    marks = ", ".join("?" * len(columns))
    values = _sqlite(rows, len(columns))
    # the transaction's sqlite3 connection itself: Tortoise's execute_many would bind every value again
    # (datetimes in UTC, done here) and log every row's values at debug level
    async with conn.acquire_connection() as raw:
        try:
            await raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(exc) from exc


def _sqlite(rows: list[tuple], width: int) -> list[list]:
    """SQLite's forms, as Tortoise stores them: a UUID as text, a datetime as UTC ISO text. Each
    column holds one type, so the converters are picked once from its first value that is not None;
    a column repeating one value (a tenant id, the import's time) is converted once."""
    convert = []
    for i in range(width):
        value = next((r[i] for r in rows if r[i] is not None), None)
        if isinstance(value, UUID):
            convert.append((i, _text))
        elif isinstance(value, datetime):
            convert.append((i, _utc_text))
    if not convert:
        return [list(r) for r in rows]
    last: list = [(None, None)] * width  # per column: the last value and its form
    out = []
    for row in rows:
        row = list(row)
        for i, fn in convert:
            value = row[i]
            seen, form = last[i]
            if value is not seen:
                form = fn(value)
                last[i] = (value, form)
            row[i] = form
        out.append(row)
    return out


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _utc_text(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat(" ")
