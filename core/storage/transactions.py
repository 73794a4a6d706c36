"""Transactions that can run work after they commit.

``async with transaction():`` is ``tortoise.transactions.in_transaction()`` plus a list of
callbacks that run once the outermost transaction has committed, and never if it rolls back.
The outbox uses it to enqueue a message's send only after the row that holds it is committed, and
``core.events`` to deliver domain events to plugins only once the change is durable. Outside any
transaction ``after_commit`` runs the callback at once (the write already committed)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.transactions import in_transaction

log = logging.getLogger("seva.transactions")

Callback = Callable[[], "None | Awaitable[None]"]
_pending: ContextVar[list[Callback] | None] = ContextVar("seva_after_commit", default=None)


class TransactionMisuse(RuntimeError):
    """after_commit was called inside a transaction that cannot report its commit."""


def in_plain_transaction() -> bool:
    return isinstance(connections.get("default"), TransactionalDBClient)


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """A transaction (a savepoint when nested) whose ``after_commit`` callbacks run after the
    outermost one commits. Callbacks of a nested block that rolls back are dropped with it."""
    outer = _pending.get()
    mine: list[Callback] = []
    token = _pending.set(mine)
    try:
        async with in_transaction():
            yield
    finally:
        _pending.reset(token)
    # committed (an exception would have left the block above)
    if outer is not None:
        outer.extend(mine)
        return
    for callback in mine:
        try:
            result = callback()
            if inspect.isawaitable(result):
                await result
        except Exception:  # noqa: BLE001 - the change committed; the callback's own recovery applies
            log.exception("after-commit callback failed")


def holding() -> bool:
    """Whether a ``transaction()`` is open here, so work can wait for its commit."""
    return _pending.get() is not None


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` after the current ``transaction()`` commits, or now if there is none.
    (Inside ``transaction()`` the callback may also be async: its result is awaited.)"""
    pending = _pending.get()
    if pending is not None:
        pending.append(callback)
        return
    if in_plain_transaction():
        raise TransactionMisuse("open the transaction with core.transactions.transaction() so work can wait for its commit")
    callback()


class _Gathered:
    """One after-commit callback for many items (see ``after_commit_gathered``)."""

    def __init__(self, run: Callable[[list], None]) -> None:
        self.run = run
        self.items: list = []

    def __call__(self) -> None:
        self.run(self.items)


def after_commit_gathered(run: Callable[[list], None], item: object) -> None:
    """Like ``after_commit(lambda: run([item]))``, but consecutive calls with the same ``run`` in
    one transaction become one call with all their items (the outbox enqueues one job for the
    messages a transaction queued, not one each). A nested block's items are dropped with it if
    it rolls back, as its callbacks are."""
    pending = _pending.get()
    if pending is None:
        after_commit(lambda: run([item]))
        return
    last = pending[-1] if pending else None
    if not (isinstance(last, _Gathered) and last.run == run):
        last = _Gathered(run)
        pending.append(last)
    last.items.append(item)
