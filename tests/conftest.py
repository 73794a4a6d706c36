"""Test set-up: the installed helpers partners use too (``seva_crm.testing.fixtures``: the
migrated test database, ``app``, ``make_app``, ``make_tenant``, ``tenant``), and what only this
repository's tests use."""

from __future__ import annotations

import logging

import pytest

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
def demo_server(tmp_path_factory):
    """``seva serve`` in a subprocess, on a database of its own with the demo tenant
    (tests/server_support.py); shared by the tests that need the real server."""
    from tests.server_support import demo_server as start

    server = start(tmp_path_factory.mktemp("demo-server"))
    yield server
    server.stop()
