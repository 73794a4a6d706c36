"""``seva`` commands run in the test process, each command line on a database of its own.

``SevaCli(data_dir)("tenant", "create", ...)`` goes through the entry point a real ``seva``
runs (``seva_crm.cli.main``: the same argument parsing, one-line errors and exit codes) and
returns what a user sees: exit code, stdout, stderr. Starting a real ``seva`` imports the whole
application each time (seconds under load); this does not, so the command-line tests run in
process and only the behaviours that need a process (the entry point, a new instance's secret,
signals, a real server) start one.

How it stays out of the session's way: the command runs in a thread of its own (so its
``asyncio.run`` does not touch the session's event loop) inside a Tortoise context of its own
(``TortoiseContext``), so ``seva_crm.cli.run`` opens and closes *its* connection to the
command line's SQLite file while the session's connection stays open. The environment is the
command line's for the call (``SEVA_DATA_DIR``, no ``SEVA_DATABASE_URL``: the default SQLite
file there), with the settings and the process's plugins read again for it and restored after.
The session's ``SEVA_SECRET_KEY`` is kept, so keys derived from it (and cached) stay right.
Tortoise keeps SQL built for one dialect where every context shares it (each model's base
query on the model class; the executors' INSERT statements in a cache keyed by connection name,
"default" in both): the cache is emptied before and after the command and the session's base
queries are built again after it, or a PostgreSQL session would run the command line's SQLite
statements (and the command the session's PostgreSQL ones).
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from click.testing import CliRunner
from tortoise.backends.base import executor as tortoise_executor
from tortoise.context import TortoiseContext, get_current_context

from seva_crm.core.common.settings import get_settings
from seva_crm.core.platform import plugins as plugins_module

T = TypeVar("T")


@dataclass(frozen=True)
class Result:
    """What a user of ``seva`` sees (named as ``subprocess.CompletedProcess`` names them)."""

    returncode: int
    stdout: str
    stderr: str


class SevaCli:
    """The ``seva`` command line on the SQLite database in ``data_dir`` (created by ``migrate``)."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.env: dict[str, str | None] = {"SEVA_DATA_DIR": str(data_dir), "SEVA_DATABASE_URL": None,
                                           "SEVA_BROKER_URL": None} | env

    def __call__(self, *args: str, check: bool = True, env: dict[str, str | None] | None = None,
                 input: str | None = None) -> Result:
        """``seva ARGS``; with ``check``, fail the test unless it exits 0."""
        from seva_crm.cli import main

        runner = CliRunner()

        def command() -> Result:
            with runner.isolation(input=input, env=self.env | (env or {})) as (out, err, _):
                saved_argv, sys.argv = sys.argv, ["seva", *args]
                try:
                    main()
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                finally:
                    sys.argv = saved_argv
                    sys.stdout.flush()
                    sys.stderr.flush()
                return Result(code, out.getvalue().decode(), err.getvalue().decode())

        result = self._isolated(command)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def run(self, work: Callable[[], Awaitable[T]], env: dict[str, str | None] | None = None) -> T:
        """``await work()`` on this command line's database, as a script beside ``seva`` would."""
        from seva_crm.cli import run

        def call() -> T:
            with CliRunner().isolation(env=self.env | (env or {})):
                return run(work())

        return self._isolated(call)

    def _isolated(self, work: Callable[[], T]) -> T:
        outcome: dict[str, Any] = {}

        def body() -> None:
            with TortoiseContext():  # this thread's ORM; the session's (the global fallback) stays open
                try:
                    outcome["value"] = work()
                except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
                    outcome["error"] = exc

        saved_plugins = plugins_module._plugins
        tortoise_executor.EXECUTOR_CACHE.clear()
        get_settings.cache_clear()
        plugins_module.set_plugins(None)  # loaded again under the command line's environment
        thread = threading.Thread(target=body, name="seva-cli")
        try:
            thread.start()
            thread.join()
        finally:
            gc.unfreeze()  # a long command freezes the process's objects, as a real seva does: thawed for the session
            get_settings.cache_clear()
            plugins_module.set_plugins(saved_plugins)
            tortoise_executor.EXECUTOR_CACHE.clear()
            session = get_current_context()  # the session's (the global fallback), if open
            if session is not None and session.apps is not None:
                session.apps._build_initial_querysets()  # models' base queries: its SQL dialect again
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]
