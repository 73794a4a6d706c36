"""The throwaway database a benchmark runs in: a SQLite file in a temp folder, a new PostgreSQL
database on 127.0.0.1:5432 (``--postgres``, dropped afterwards), or an empty one the caller names
(``--database-url``). Shared by every script in bench/."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass(frozen=True)
class Scratch:
    tmp: str  # the data directory (SEVA_DATA_DIR), removed afterwards
    url: str  # SEVA_DATABASE_URL
    pg_db: str | None  # the database created for this run, if any

    @property
    def label(self) -> str:
        return "SQLite (temp file)" if self.url.startswith("sqlite") else "PostgreSQL " + self.url.rsplit("@", 1)[-1]


def scratch(postgres: bool, database_url: str | None, prefix: str = "seva-bench-") -> Scratch:
    tmp = tempfile.mkdtemp(prefix=prefix)
    pg_db = f"seva_bench_{uuid.uuid4().hex[:10]}" if postgres and not database_url else None
    url = database_url or (PG_ADMIN.rsplit("/", 1)[0] + "/" + pg_db if pg_db else f"sqlite://{tmp}/bench.sqlite3")
    return Scratch(tmp, url, pg_db)


def run_in(where: Scratch, work: Coroutine[Any, Any, None]) -> None:
    """Create the database, run ``work``, and drop the database and the temp folder whatever happens."""
    try:
        if where.pg_db:
            asyncio.run(pg_admin(f'CREATE DATABASE "{where.pg_db}"'))
        asyncio.run(work)
    finally:
        if where.pg_db:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{where.pg_db}" WITH (FORCE)'))
        shutil.rmtree(where.tmp, ignore_errors=True)
