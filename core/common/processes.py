"""A process beside this one for CPU-bound work (a large import's row checks). Python runs one
thread at a time, so work that is all Python, done in the event loop's process, competes with
the database's thread (SQLite's inserts bind their values under the same lock) and with every
other request the process serves.

The process is started on first use and kept for the next call: one per server process, started
by ``spawn`` (a fresh interpreter: nothing is inherited from this process, no thread, lock or
connection). A function sent there gets all it needs in its arguments: this process's settings,
clock and plugins are not there. If it dies, the call fails with ``ProcessLost`` and the next one
starts another."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


class ProcessLost(Exception):
    """The worker process ended before it answered."""


def _get() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


async def run(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the worker process (``fn`` a module-level function; the arguments and the
    answer are pickled)."""
    pool = _get()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
    except BrokenProcessPool as exc:
        _discard(pool)
        raise ProcessLost(str(exc)) from None


def shutdown() -> None:
    """End the worker process, if one was started (at exit it ends by itself)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
