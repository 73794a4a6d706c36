"""CPU-bound work in a process of its own, its answers streamed back (a large import's row
checks). Python runs one thread at a time, so work that is all Python, done in the event loop's
process, competes with the database's thread (SQLite binds its values under the same lock) and
with every other request the process serves.

Each call gets a new process, forked from a fork server: a process started once, on first use (a
fresh interpreter that imports ``preload`` once and never starts a thread), so a fork of it
inherits no thread, lock or connection and starts in milliseconds. The function gets all it needs
in its arguments: this process's settings, clock and plugins are not there. Where there is no
fork server (Windows), ``available()`` is false and the caller does the work itself."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any

_ITEM, _END, _FAILED = "item", "end", "failed"


class ProcessLost(Exception):
    """The worker process ended before its last answer, or failed (the text names the exception's
    type only: its message may hold the data it was working on)."""


def available() -> bool:
    return "forkserver" in multiprocessing.get_all_start_methods()


def _serve(send: Connection, fn: Callable[..., Iterator[Any]], args: tuple) -> None:
    """The worker process: each item ``fn(*args)`` yields, then the end (or the failure)."""
    try:
        for item in fn(*args):
            send.send((_ITEM, item))
        send.send((_END, None))
    except Exception as exc:  # noqa: BLE001 - reported to the caller, which raises ProcessLost
        send.send((_FAILED, type(exc).__name__))
    finally:
        send.close()


async def stream(fn: Callable[..., Iterator[Any]], *args: Any, preload: Iterable[str] = ()) -> AsyncIterator[Any]:
    """What ``fn(*args)`` yields, run in a process of its own (``fn`` a module-level generator
    function; arguments and items are pickled). The items come in order, as the process sends
    them (it waits while the pipe is full); an item is read whole once it begins to arrive, so keep
    them to a few hundred kilobytes. ``preload`` is what the fork server imports when it starts.
    Closing the iterator early ends the process: use it with ``contextlib.aclosing``."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_serve, args=(send, fn, args), daemon=True)
    try:
        await asyncio.to_thread(process.start)  # the first start also starts the fork server (about 0.7 s)
    finally:
        send.close()
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(receive.fileno(), readable.set)
    try:
        while True:
            if not receive.poll():
                readable.clear()
                await readable.wait()
                continue
            try:
                kind, item = receive.recv()
            except EOFError:
                raise ProcessLost(f"the worker process ended (exit code {process.exitcode})") from None
            if kind == _END:
                return
            if kind == _FAILED:
                raise ProcessLost(f"the worker process failed ({item})")
            yield item
    finally:
        loop.remove_reader(receive.fileno())
        receive.close()
        if process.is_alive():
            process.kill()
        await asyncio.to_thread(process.join)
