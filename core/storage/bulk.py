"""Many rows into tables at once, inside the current transaction: ``COPY`` on PostgreSQL
(asyncpg's ``copy_records_to_table``), multi-row ``INSERT``s on SQLite. For imports, where building a
Tortoise model per row costs more than the write itself. Rows hold Python values (UUID or its
text, aware datetime, date, str, int, None; JSON already as text); the caller has validated them. A broken
constraint is Tortoise's ``IntegrityError`` on both."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, closing
from datetime import date, datetime, timezone
from functools import lru_cache
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


Write = tuple[str, Sequence[str], list[tuple]]  # a table, its columns, the rows' values in that order


async def insert(table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    await insert_all([(table, columns, rows)])


async def insert_all(writes: Sequence[Write]) -> None:
    """Each ``(table, columns, rows)`` in turn (rows that refer to an earlier table's rows after
    them). On SQLite all of them are one job of the database's thread (see ``_sqlite_job``)."""
    writes = [w for w in writes if w[2]]
    if not writes:
        return
    conn = connections.get("default")
    if not isinstance(conn, TransactionalDBClient):
        raise RuntimeError("bulk.insert runs inside a transaction")
    if conn.capabilities.dialect == "postgres":
        import asyncpg

        for table, columns, rows in writes:
            try:  # the transaction's own asyncpg connection (Tortoise has no COPY of its own)
                await conn._connection.copy_records_to_table(table, records=rows, columns=list(columns))
            except asyncpg.IntegrityConstraintViolationError as exc:
                raise IntegrityError(exc) from exc  # as Tortoise reports it on every database
        return
    statements = [statement for table, columns, rows in writes for statement in _sqlite_statements(table, columns, rows)]
    async with conn.acquire_connection() as raw:
        try:
            await raw._execute(_sqlite_job, raw._conn, statements)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(exc) from exc


def _sqlite_statements(table: str, columns: Sequence[str], rows: list[tuple]) -> Iterator[tuple[str, list]]:
    """INSERTs of many rows each, their values in one flat list."""
    values = _sqlite(rows, len(columns))
    one = f"({', '.join('?' * len(columns))})"
    per_statement = max(1, _max_values() // len(columns))
    for start in range(0, len(values), per_statement):
        part = values[start:start + per_statement]
        yield (f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * len(part))}",
               [v for row in part for v in row])


@lru_cache(maxsize=1)
def _max_values() -> int:
    """The values one SQLite statement may bind (32,766 since SQLite 3.32; a build may set fewer)."""
    with closing(sqlite3.connect(":memory:")) as probe:
        return probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def _sqlite_job(raw: sqlite3.Connection, statements: list[tuple[str, list]]) -> None:
    """Runs in aiosqlite's thread, on the transaction's own connection (Tortoise's execute_many would
    bind every value again and log them at debug level). Each statement binds its rows' values at
    once and then runs whole without the GIL, where ``executemany`` took the GIL back for every row
    while an import's checks held it in the event loop's thread; and all of a write is one job, so
    the thread hands back to the event loop once per write, not once per table."""
    for sql, values in statements:
        raw.execute(sql, values)


def _sqlite(rows: list[tuple], width: int) -> list[list]:
    """SQLite's forms, as Tortoise stores them: a UUID as text, a datetime as UTC ISO text. Each
    column holds one type (a UUID column may also hold UUIDs as text), so the converters are picked
    once from its first value that is neither None nor text; a column repeating one value (a tenant
    id, the import's time) is converted once."""
    convert = []
    for i in range(width):
        value = next((v for r in rows if (v := r[i]) is not None and type(v) is not str), None)
        if isinstance(value, UUID):
            convert.append((i, _text))
        elif isinstance(value, datetime):
            convert.append((i, _utc_text))
        elif isinstance(value, date):
            convert.append((i, _date_text))
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


def _text(value: UUID | str | None) -> str | None:
    return None if value is None else str(value)


def _utc_text(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat(" ")


def _date_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
