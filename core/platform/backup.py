"""Backups of the whole database, and their restore: ``seva backup create|verify|restore`` and
the scheduled backup (``core/jobs/backups.py``). See docs/operations.md.

SQLite is copied through its online backup API (a consistent copy while the server runs);
PostgreSQL is dumped with ``pg_dump`` in custom format and restored with ``pg_restore``. The
manifest counts the rows of every table and checksums them (a sum of each row's SHA-256, so the
order rows come back in does not matter), read from the same snapshot as the dump; a restore
recomputes them on the restored database and fails unless every table matches."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import Settings, get_settings
from seva_crm.core.platform.backup_file import BackupError, read_backup, write_backup
from seva_crm.core.platform.database import _prepare_sqlite

FORMAT = 1
MIGRATIONS_TABLE = "tortoise_migrations"


def _app_version() -> str:
    try:
        return version("seva-crm")
    except PackageNotFoundError:
        return "unknown"


class TableSums:
    """Row count and an order-independent checksum per table."""

    def __init__(self) -> None:
        self.tables: dict[str, dict] = {}

    def add(self, table: str, rows: Iterable[tuple]) -> None:
        count, total = 0, 0
        for row in rows:
            count += 1
            total = (total + int.from_bytes(hashlib.sha256(repr(tuple(row)).encode()).digest(), "big")) % (1 << 256)
        self.tables[table] = {"rows": count, "checksum": f"{total:064x}"}


def _migration_heads(rows: Iterable[tuple]) -> dict[str, str]:
    heads: dict[str, str] = {}
    for app, name in rows:  # ordered by id: the last one applied wins
        heads[app] = name
    return heads


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="seva-backup-") as tmp:
        os.chmod(tmp, 0o700)
        yield Path(tmp)


# --- SQLite -------------------------------------------------------------------------------------

def _sqlite_path(settings: Settings) -> Path:
    return Path(settings.db_url.removeprefix("sqlite://"))


def _sqlite_sums(path: Path) -> tuple[dict, dict[str, str]]:
    sums = TableSums()
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                          "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            sums.add(table, db.execute(f'SELECT * FROM "{table}"'))
        heads = _migration_heads(db.execute(f"SELECT app, name FROM {MIGRATIONS_TABLE} ORDER BY id")) \
            if MIGRATIONS_TABLE in tables else {}
    db.close()
    return sums.tables, heads


def _sqlite_snapshot(settings: Settings, dest: Path) -> None:
    source = sqlite3.connect(_sqlite_path(settings))
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _sqlite_tables(path: Path) -> list[str]:
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    finally:
        db.close()


def _sqlite_restore(dump: Path, settings: Settings) -> None:
    source = sqlite3.connect(dump)
    target = sqlite3.connect(_sqlite_path(settings))
    try:
        source.backup(target)  # replaces the target's pages, all at once
    finally:
        target.close()
        source.close()


# --- PostgreSQL ---------------------------------------------------------------------------------

def pg_environment(db_url: str) -> dict[str, str]:
    """The libpq variables for ``pg_dump``/``pg_restore`` (so the password is not on a command line)."""
    url = urlsplit(db_url)
    env = {**os.environ, "PGHOST": url.hostname or "localhost", "PGPORT": str(url.port or 5432),
           "PGDATABASE": unquote(url.path.lstrip("/"))}
    if url.username:
        env["PGUSER"] = unquote(url.username)
    if url.password:
        env["PGPASSWORD"] = unquote(url.password)
    return env


def _dsn(db_url: str) -> str:
    return db_url.split("?", 1)[0]


def _run_tool(args: list[str], env: dict[str, str]) -> None:
    try:
        result = subprocess.run(args, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{args[0]} is not installed (PostgreSQL's client tools, the server's major version or newer)") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise BackupError(f"{args[0]} failed: {lines[-1] if lines else f'exit {result.returncode}'}")


async def _pg_sums(connection) -> tuple[dict, dict[str, str]]:
    sums = TableSums()
    tables = [r[0] for r in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                                                   "ORDER BY tablename")]
    for table in tables:  # in a transaction: a cursor streams the rows
        sums.add(table, [tuple(r.values()) async for r in connection.cursor(f'SELECT * FROM "{table}"')])
    heads = _migration_heads([tuple(r.values()) for r in await connection.fetch(
        f"SELECT app, name FROM {MIGRATIONS_TABLE} ORDER BY id")]) if MIGRATIONS_TABLE in tables else {}
    return sums.tables, heads


async def _pg_dump(settings: Settings, dest: Path) -> tuple[dict, dict[str, str]]:
    """``pg_dump`` from a snapshot that the row counts and checksums are read from too."""
    import asyncio

    import asyncpg

    connection = await asyncpg.connect(_dsn(settings.db_url))
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
            await asyncio.to_thread(_run_tool, ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={dest}"],
                                    pg_environment(settings.db_url))
            return await _pg_sums(connection)
    finally:
        await connection.close()


async def _pg_tables(settings: Settings) -> list[str]:
    import asyncpg

    connection = await asyncpg.connect(_dsn(settings.db_url))
    try:
        return [r[0] for r in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
    finally:
        await connection.close()


async def _pg_restored_sums(settings: Settings) -> tuple[dict, dict[str, str]]:
    import asyncpg

    connection = await asyncpg.connect(_dsn(settings.db_url))
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            return await _pg_sums(connection)
    finally:
        await connection.close()


# --- the commands -------------------------------------------------------------------------------

def _kind(settings: Settings) -> str:
    return "postgres" if settings.db_url.startswith("postgres") else "sqlite"


async def create_backup(dest: Path, settings: Settings | None = None) -> dict:
    """Write an encrypted backup of the database to ``dest``; returns its manifest."""
    import asyncio

    settings = settings or get_settings()
    kind = _kind(settings)
    with _scratch() as tmp:
        dump = tmp / "dump"
        if kind == "sqlite":
            await asyncio.to_thread(_sqlite_snapshot, settings, dump)
            tables, heads = await asyncio.to_thread(_sqlite_sums, dump)
        else:
            tables, heads = await _pg_dump(settings, dump)
        manifest = {"format": FORMAT, "version": _app_version(), "database": kind, "created_at": utcnow().isoformat(),
                    "migrations": heads, "tables": tables, "dump_bytes": dump.stat().st_size, "dump_sha256": _sha256_file(dump)}
        await asyncio.to_thread(write_backup, dest, manifest, dump, settings)
    return manifest


def _check_dump(manifest: dict, dump: Path) -> None:
    if _sha256_file(dump) != manifest.get("dump_sha256"):
        raise BackupError("the dump does not match the checksum in its manifest")


def _compare(expected: dict, found: dict) -> None:
    """Every table of the backup, with its rows and checksum, and no other table."""
    problems = []
    for table in sorted(set(expected) | set(found)):
        if table not in found:
            problems.append(f"{table}: missing")
        elif table not in expected:
            problems.append(f"{table}: not in the backup")
        elif found[table] != expected[table]:
            problems.append(f"{table}: {found[table]['rows']} rows, checksum {found[table]['checksum'][:12]}; "
                            f"the backup has {expected[table]['rows']} rows, checksum {expected[table]['checksum'][:12]}")
    if problems:
        raise BackupError("the restored database differs from the backup: " + "; ".join(problems))


def verify_backup(path: Path, settings: Settings | None = None) -> dict:
    """Decrypt the whole file and check the dump's checksum; a SQLite dump is also opened and
    every table's rows and checksum compared with the manifest. Returns the manifest."""
    settings = settings or get_settings()
    with _scratch() as tmp:
        dump = tmp / "dump"
        manifest = read_backup(path, dump, settings)
        _check_dump(manifest, dump)
        if manifest["database"] == "sqlite":
            _compare(manifest["tables"], _sqlite_sums(dump)[0])
        else:
            _run_tool(["pg_restore", "--list", str(dump)], dict(os.environ))
    return manifest


async def restore_backup(path: Path, settings: Settings | None = None, *, force: bool = False) -> dict:
    """Restore ``path`` into the configured database, which must be empty unless ``force``
    (then its tables are replaced). Afterwards every table's rows and checksum must match the
    manifest. Returns the manifest. Stop the servers and workers first."""
    import asyncio

    settings = settings or get_settings()
    kind = _kind(settings)
    with _scratch() as tmp:
        dump = tmp / "dump"
        manifest = await asyncio.to_thread(read_backup, path, dump, settings)
        _check_dump(manifest, dump)
        if manifest["database"] != kind:
            raise BackupError(f"the backup is of a {manifest['database']} database, and SEVA_DATABASE_URL points at {kind}")
        existing = _sqlite_tables(_sqlite_path(settings)) if kind == "sqlite" else await _pg_tables(settings)
        if existing and not force:
            raise BackupError(f"the database is not empty ({len(existing)} tables): restore into an empty one, "
                              "or pass --force to replace its contents")
        if kind == "sqlite":
            _prepare_sqlite(settings)  # a new file is created private (0600)
            await asyncio.to_thread(_sqlite_restore, dump, settings)
            found = await asyncio.to_thread(_sqlite_sums, _sqlite_path(settings))
        else:
            env = pg_environment(settings.db_url)
            if existing:
                await _pg_drop_tables(settings)
            await asyncio.to_thread(_run_tool, ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                                                "--single-transaction", f"--dbname={env['PGDATABASE']}", str(dump)], env)
            found = await _pg_restored_sums(settings)
    _compare(manifest["tables"], found[0])
    return manifest


async def _pg_drop_tables(settings: Settings) -> None:
    """--force on PostgreSQL: empty the schema first (pg_restore --clean leaves tables the backup does not have)."""
    import asyncpg

    connection = await asyncpg.connect(_dsn(settings.db_url))
    try:
        async with connection.transaction():
            for (table,) in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"):
                await connection.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    finally:
        await connection.close()
