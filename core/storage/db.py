"""Tortoise configuration and lifecycle. Schema changes go through ``core/migrations``."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from tortoise import Tortoise
from tortoise import timezone as tortoise_timezone

from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import Settings, get_settings

MODELS = ["seva_crm.core.models"]

# Tortoise stamps auto_now/auto_now_add fields (created_at, updated_at) from tortoise.timezone.now:
# read our clock there too, so a pinned clock (tests) holds for every timestamp. (use_tz is on.)
tortoise_timezone.now = utcnow


def tortoise_config(db_url: str) -> dict:
    connection: str | dict = db_url
    if db_url.startswith("sqlite://"):  # see core/sqlite_backend.py
        connection = {"engine": "seva_crm.core.storage.sqlite_backend", "credentials": {"file_path": db_url.removeprefix("sqlite://")}}
    return {
        "connections": {"default": connection},
        "apps": {"models": {"models": MODELS, "migrations": "seva_crm.core.migrations", "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _cli_config() -> dict:
    return tortoise_config(get_settings().db_url)


# For the `tortoise` command (makemigrations): `[tool.tortoise] tortoise_orm = "seva_crm.core.storage.db.TORTOISE_ORM"`;
# evaluated on access, so importing core.db reads no settings.
def __getattr__(name: str):
    if name == "TORTOISE_ORM":
        return _cli_config()
    raise AttributeError(name)


async def init_db(settings: Settings, *, create_db: bool = False) -> None:
    """Open the ORM for this process (connections are made lazily on first query)."""
    _prepare_sqlite(settings)
    await Tortoise.init(config=tortoise_config(settings.db_url), _create_db=create_db, _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


@asynccontextmanager
async def database(settings: Settings | None = None) -> AsyncIterator[None]:
    """``async with database():`` for the CLI and jobs: open, yield, always close."""
    await init_db(settings or get_settings())
    try:
        yield
    finally:
        await close_db()


async def migrate(settings: Settings | None = None) -> None:
    """Apply every pending migration (what ``seva migrate`` does)."""
    from tortoise.migrations.api import migrate as run_migrations

    settings = settings or get_settings()
    _prepare_sqlite(settings)
    try:
        await run_migrations(config=tortoise_config(settings.db_url))
    finally:
        await Tortoise.close_connections()


def _prepare_sqlite(settings: Settings) -> None:
    """The SQLite file (and the data directory, if it holds it) readable by this user alone:
    the directory 0700 and the file created 0600 before SQLite opens it (its -wal and -shm
    files take the database file's mode)."""
    if not settings.db_url.startswith("sqlite://"):
        return
    path = Path(settings.db_url.removeprefix("sqlite://"))
    if str(path) == ":memory:":
        return
    if not settings.database_url:
        private_dir(settings.data_dir)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing, and make it 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
