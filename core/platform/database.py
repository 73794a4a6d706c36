"""Tortoise configuration and lifecycle. Schema changes go through migrations: core's in
``core/migrations`` (app ``models``), and each plugin's own (an app labelled with the plugin's
id, declared in its manifest)."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator

from tortoise import Tortoise
from tortoise import timezone as tortoise_timezone
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import ConfigError, Settings, get_settings

if TYPE_CHECKING:
    from seva_crm.core.platform.plugins import Plugins

MODELS = ["seva_crm.core.models"]
CORE_APP = "models"

# Tortoise stamps auto_now/auto_now_add fields (created_at, updated_at) from tortoise.timezone.now:
# read our clock there too, so a pinned clock (tests) holds for every timestamp. (use_tz is on.)
tortoise_timezone.now = utcnow


def tortoise_config(db_url: str, plugins: Plugins | None = None) -> dict:
    """Core's app and one app per loaded plugin that declares models (the process's plugins
    unless ``plugins`` is given)."""
    from seva_crm.core.platform.plugins import get_plugins

    connection: str | dict = db_url
    if db_url.startswith("sqlite://"):  # see core/sqlite_backend.py
        connection = {"engine": "seva_crm.core.storage.sqlite_backend", "credentials": {"file_path": db_url.removeprefix("sqlite://")}}
    apps = {CORE_APP: {"models": MODELS, "migrations": "seva_crm.core.migrations", "default_connection": "default"}}
    for pid, loaded in (plugins or get_plugins()).loaded.items():
        if loaded.manifest.models:
            apps[pid] = {"models": [loaded.manifest.models], "migrations": loaded.manifest.migrations,
                         "default_connection": "default"}
    return {"connections": {"default": connection}, "apps": apps, "use_tz": True, "timezone": "UTC"}


def _cli_config() -> dict:
    return tortoise_config(get_settings().db_url)


# For the `tortoise` command (makemigrations): `[tool.tortoise] tortoise_orm = "seva_crm.core.platform.database.TORTOISE_ORM"`;
# evaluated on access, so importing core.db reads no settings.
def __getattr__(name: str):
    if name == "TORTOISE_ORM":
        return _cli_config()
    raise AttributeError(name)


async def init_db(settings: Settings, *, create_db: bool = False, whole_process: bool = True) -> None:
    """Open the ORM (connections are made lazily on first query): for the whole process (every
    task and thread; the server, the tests' session), or with ``whole_process=False`` for this
    task and the tasks it starts only (``database()``)."""
    _prepare_sqlite(settings)
    await Tortoise.init(config=tortoise_config(settings.db_url), _create_db=create_db, _enable_global_fallback=whole_process)


async def close_db() -> None:
    await Tortoise.close_connections()


@asynccontextmanager
async def database(settings: Settings | None = None) -> AsyncIterator[None]:
    """``async with database():`` for the CLI and scripts: open, yield, always close. The ORM
    is this task's (its Tortoise context), so a process that has it open already keeps its own
    (the tests run ``seva`` commands in process, each on a database of its own)."""
    await init_db(settings or get_settings(), whole_process=False)
    try:
        yield
    finally:
        await close_db()


async def migrate(settings: Settings | None = None) -> None:
    """Apply every pending migration of core and of every loaded plugin, in dependency order
    (what ``seva migrate`` does)."""
    from tortoise.migrations.api import migrate as run_migrations

    settings = settings or get_settings()
    _prepare_sqlite(settings)
    try:
        await run_migrations(config=tortoise_config(settings.db_url))
    finally:
        await Tortoise.close_connections()


async def drop_plugin_data(plugin_id: str, settings: Settings | None = None) -> list[str]:
    """Reverse every applied migration of the plugin ``plugin_id``, newest first: its tables
    go, with their rows. Core's migrations stay, even those ordered after the plugin's
    (``run_before``). Returns the migrations reversed (none if nothing was applied)."""
    from tortoise.connection import get_connection

    settings = settings or get_settings()
    config = tortoise_config(settings.db_url)
    if plugin_id == CORE_APP or plugin_id not in config["apps"]:
        raise ConfigError(f"no loaded plugin {plugin_id!r} has tables of its own (see `seva plugins list`)")
    _prepare_sqlite(settings)
    reversed_: list[str] = []
    try:
        await Tortoise.init(config=config, init_connections=False)
        executor = _PluginRollback(get_connection("default"), config["apps"], plugin_id)
        await executor.migrate(direction="backward",
                               progress=lambda event, app, name: reversed_.append(name) if event == "rollback_done" else None)
    finally:
        await Tortoise.close_connections()
    return reversed_


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


class _PluginRollback(MigrationExecutor):
    """Plans the reversal of one app's migrations and no others. Tortoise's own backward plan
    (target ``<app>.__first__``) finds no first migration for an app whose first migration
    depends on core's, and would also reverse every applied migration of other apps that
    depends on it or was ordered after it (``run_before``: core dropping a column only once a
    plugin has copied it)."""

    def __init__(self, connection, apps_config: dict, app_label: str) -> None:
        super().__init__(connection, apps_config)
        self.app_label = app_label

    def _migration_plan(self, targets, applied, graph):
        own = [key for key in graph.nodes if key.app_label == self.app_label]
        firsts = [key for key in own if all(p.key.app_label != self.app_label for p in graph.node_map[key].parents)]
        plan = [step for first in sorted(firsts)
                for step in self._backward_plan(MigrationTarget(first.app_label, first.name), applied, graph, include_target=True)
                if step.migration.app_label == self.app_label]
        return self._dedupe_plan(plan)
