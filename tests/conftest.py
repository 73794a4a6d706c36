"""Test set-up: the installed helpers partners use too (``seva_crm.testing.fixtures``: the
migrated test database, ``app``, ``make_app``, ``make_tenant``, ``tenant``), and what only this
repository's tests use."""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from seva_crm.core.common.settings import get_settings
from seva_crm.testing.client import LOGIN, PASSWORD, Api, login  # noqa: F401 - tests import them from here

pytest_plugins = ["seva_crm.testing.fixtures", "pytester"]


def is_postgres() -> bool:
    return get_settings().db_url.startswith("postgres")


class QueryCounter(logging.Handler):
    """Counts SQL statements Tortoise sends (it logs each one on tortoise.db_client)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        self.logger = logging.getLogger("tortoise.db_client")
        self.saved_level = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.saved_level)


@pytest.fixture
def domain_events(monkeypatch):
    """Every domain event ``core.events`` delivers (after commit), in order."""
    from seva_crm.core.platform import events as core_events

    seen = []
    deliver = core_events._deliver

    async def capture(batch, plugins):
        seen.extend(batch)
        await deliver(batch, plugins)

    monkeypatch.setattr(core_events, "_deliver", capture)
    return seen


@pytest.fixture
def plugin_env(monkeypatch):
    """Set plugins' instance settings (``SEVA_<PLUGIN>_*`` variables: the providers' addresses,
    pointed at the local fakes); the process's plugins load again, reading them."""
    from seva_crm.core.platform.plugins import set_plugins

    def setenv(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        set_plugins(None)

    yield setenv
    set_plugins(None)  # before monkeypatch restores the environment: the next load reads it as it was


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory, migrated_sqlite):
    """``seva serve`` in a subprocess, on a database of its own (a copy of ``migrated_sqlite``)
    with the demo tenant (tests/server_support.py); shared by the tests that need the real server."""
    from tests.server_support import demo_server as start

    server = start(tmp_path_factory.mktemp("demo-server"), migrated_sqlite)
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def database(migrated_sqlite) -> AsyncIterator[None]:
    """The installed helpers' ``database`` (seva_crm.testing.fixtures: the session's database,
    migrated and open), except that on SQLite it starts as a copy of ``migrated_sqlite`` rather
    than migrating from empty a second time. (tests/test_testing_helpers.py runs the helpers' own.)"""
    from seva_crm.core.platform.database import close_db, init_db, migrate

    settings = get_settings()
    if settings.db_url.startswith("sqlite://"):
        shutil.copy2(migrated_sqlite, settings.db_url.removeprefix("sqlite://"))
    else:
        await migrate(settings)
    await init_db(settings)
    yield
    await close_db()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite database made by ``seva migrate`` (in process) on an empty data directory, once
    per session: migrating takes tens of seconds (Tortoise renders every migration's state), so
    the tests that need a fresh database of their own copy this one (``new_seva``)."""
    from tests.cli_support import SevaCli

    cli = SevaCli(tmp_path_factory.mktemp("migrated"))
    assert "database is up to date" in cli("migrate").stdout
    return cli.data_dir / "seva.sqlite3"


def copy_database(migrated: Path, data_dir: Path) -> Path:
    """A copy of the migrated SQLite database as ``data_dir``'s default database."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for part in migrated.parent.glob(migrated.name + "*"):  # with -wal and -shm, if any
        shutil.copy2(part, data_dir / part.name)
    return data_dir / migrated.name


@pytest.fixture
def new_seva(migrated_sqlite, tmp_path_factory):
    """``new_seva(**env)``: the ``seva`` command line (in process, tests/cli_support.py) on a
    fresh migrated database of its own, with these extra environment variables."""
    from tests.cli_support import SevaCli

    def make(**env: str) -> SevaCli:
        data_dir = tmp_path_factory.mktemp("seva")
        copy_database(migrated_sqlite, data_dir)
        return SevaCli(data_dir, **env)

    return make
