"""Transactions that can run work after they commit.

``async with transaction():`` is ``tortoise.transactions.in_transaction()`` plus a list of
callbacks that run once the outermost transaction has committed, and never if it rolls back.
The outbox uses it to enqueue a message's send only after the row that holds it is committed, and
``core.events`` to deliver domain events to plugins only once the change is durable. Outside any
transaction ``after_commit`` runs the callback at once (the write already committed).

``before_commit`` callbacks run inside the outermost transaction, as its last statements: the
change feed (``core.platform.changes``) writes its rows there, so they commit with the change and
take their per-tenant lock only for the moment before the commit. ``before_commit_gathered``
gathers items under a key: however many blocks of the transaction (savepoints included) add to
one key, a single callback writes them all (N changes of a tenant are one counter bump and one
INSERT)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.transactions import in_transaction

log = logging.getLogger("seva.transactions")

Callback = Callable[[], "None | Awaitable[None]"]
_pending: ContextVar[list[Callback] | None] = ContextVar("seva_after_commit", default=None)
_before: ContextVar[list[Callable[[], Awaitable[None]]] | None] = ContextVar("seva_before_commit", default=None)


class TransactionMisuse(RuntimeError):
    """after_commit was called inside a transaction that cannot report its commit."""


def in_plain_transaction() -> bool:
    return isinstance(connections.get("default"), TransactionalDBClient)


@asynccontextmanager
async def transaction() -> AsyncIterator[BaseDBAsyncClient]:
    """A transaction (a savepoint when nested) whose ``after_commit`` callbacks run after the
    outermost one commits, and whose ``before_commit`` callbacks run last inside it. Callbacks of
    a nested block that rolls back are dropped with it. Yields the transaction's connection."""
    outer, outer_before = _pending.get(), _before.get()
    mine: list[Callback] = []
    mine_before: list[Callable[[], Awaitable[None]]] = []
    token, token_before = _pending.set(mine), _before.set(mine_before)
    try:
        async with in_transaction() as conn:
            yield conn
            if outer_before is None:  # the outermost block: its last statements before the commit
                index = 0
                while index < len(mine_before):  # a callback may add another
                    callback = mine_before[index]
                    if isinstance(callback, _BeforeGathered):
                        callback.absorb(mine_before[index + 1:])
                    await callback()
                    index += 1
    finally:
        _pending.reset(token)
        _before.reset(token_before)
    # committed (an exception would have left the block above)
    if outer is not None:
        outer.extend(mine)
        if outer_before is not None:
            outer_before.extend(mine_before)
        return
    for callback in mine:
        try:
            result = callback()
            if inspect.isawaitable(result):
                await result
        except Exception:  # noqa: BLE001 - the change committed; the callback's own recovery applies
            log.exception("after-commit callback failed")


def before_commit(callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` (async) inside the current ``transaction()``, just before it commits."""
    pending = _before.get()
    if pending is None:
        raise TransactionMisuse("before_commit needs core.storage.transactions.transaction() around the change")
    pending.append(callback)


class _BeforeGathered:
    """One before-commit callback for the items gathered under ``key`` (see ``before_commit_gathered``)."""

    def __init__(self, key: object, run: Callable[[list], Awaitable[None]]) -> None:
        self.key, self.run = key, run
        self.items: list = []

    def absorb(self, later: list) -> None:
        """Take over the items of later callbacks of the same key (savepoints that committed into
        this transaction), which then write nothing."""
        for other in later:
            if isinstance(other, _BeforeGathered) and other is not self and other.key == self.key:
                self.items.extend(other.items)
                other.items = []

    async def __call__(self) -> None:
        if self.items:
            await self.run(self.items)


def before_commit_gathered(key: object, run: Callable[[list], Awaitable[None]], item: object) -> None:
    """Like ``before_commit(lambda: run([item]))``, but every item added under ``key`` in the
    transaction reaches one call of ``run``, in the order they were added (items of a savepoint
    that rolls back are dropped with it). ``run`` is the same function for a key."""
    pending = _before.get()
    if pending is None:
        raise TransactionMisuse("before_commit needs core.storage.transactions.transaction() around the change")
    for callback in reversed(pending):
        if isinstance(callback, _BeforeGathered) and callback.key == key:
            callback.items.append(item)
            return
    gathered = _BeforeGathered(key, run)
    gathered.items.append(item)
    pending.append(gathered)


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

    def __init__(self, run: Callable[[list], "None | Awaitable[None]"]) -> None:
        self.run = run
        self.items: list = []

    def __call__(self) -> None | Awaitable[None]:
        return self.run(self.items)  # an async ``run`` is awaited by ``transaction()``


def after_commit_gathered(run: Callable[[list], "None | Awaitable[None]"], item: object) -> None:
    """Like ``after_commit(lambda: run([item]))``, but consecutive calls with the same ``run`` in
    one transaction become one call with all their items (the outbox enqueues one job for the
    messages a transaction queued, not one each; ``core.platform.events`` delivers the events a
    transaction emitted together). A nested block's items are dropped with it if it rolls back, as
    its callbacks are. ``run`` may be async only inside ``transaction()`` (it is awaited there)."""
    pending = _pending.get()
    if pending is None:
        after_commit(lambda: run([item]))
        return
    last = pending[-1] if pending else None
    if not (isinstance(last, _Gathered) and last.run == run):
        last = _Gathered(run)
        pending.append(last)
    last.items.append(item)
