"""Domain events for plugins (``seva_domain_event``), delivered only after the change committed.

Inside ``core.transactions.transaction()`` an emitted event waits for the commit (and is dropped
if the transaction rolls back); outside any transaction it is delivered at once. ``emit`` inside
a bare ``in_transaction()`` is a programming error and raises. Events carry ids and states only,
never personal data.

Core listens too: ``listen(fn)`` registers an async function called with every event after the
commit; ``listen_many(fn)`` one called once with the events a transaction committed together, in
order (live subscriptions publish them to Redis in one round trip). A consumer that writes
durable rows for an event (webhook deliveries, status-rule messages) registers with
``@listen_in_transaction(names)`` instead: it is called at ``emit``, inside the emitting transaction,
in a savepoint of its own, so its rows commit with the change or not at all (a crash just after
the commit loses nothing), and its failure loses only its own rows. ``emit_many`` emits a
transaction's several events with one savepoint per listener for all of them (the outbox's
batches). A new kind of object joins by emitting its events here: ``emit(new_event("ticket.updated",
tenant_id, ticket_id, status="open"))`` inside the transaction that changes it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID


from seva_crm.core.storage import transactions
from seva_crm.core.platform.plugin_types import DomainEvent
from seva_crm.core.platform.plugins import Plugins, get_plugins
from seva_crm.core.common.security import utcnow
from seva_crm.core.platform.tenant_plugins import tenant_hook

log = logging.getLogger("seva.events")

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_DELETED = "customer.deleted"
CUSTOMER_RESTORED = "customer.restored"
SERVICE_RECORD_CREATED = "service_record.created"
SERVICE_RECORD_UPDATED = "service_record.updated"
MESSAGE_STATUS_CHANGED = "message.status_changed"  # data: status, channel
MESSAGE_RECEIVED = "message.received"  # a customer wrote to us; data: channel, inbound message id
# privacy requests emit privacy_request.<status> (received, in_progress, completed, ...)

Listener = Callable[[DomainEvent], Awaitable[None]]
ManyListener = Callable[[list[DomainEvent]], Awaitable[None]]
_listeners: list[tuple[Listener | ManyListener, bool]] = []  # after the commit; True: called with a list
_writers: list[tuple[Listener, frozenset[str] | None]] = []  # inside the emitting transaction, for these names (None: all)
_reads: ContextVar[dict | None] = ContextVar("seva_event_reads", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """Inside: listeners' reads through ``cached`` are made once (a job emitting an event for
    each of many messages: a tenant's webhook endpoints are read once, not once an event)."""
    token = _reads.set({})
    try:
        yield
    finally:
        _reads.reset(token)


async def cached(key: tuple, load: Callable[[], Awaitable[Any]]) -> Any:
    """``await load()``, once per ``key`` inside ``batch()`` (every time outside one)."""
    reads = _reads.get()
    if reads is None:
        return await load()
    if key not in reads:
        reads[key] = await load()
    return reads[key]


def listen(listener: Listener) -> Listener:
    """Call ``listener`` with every event once its change committed (core's own consumers)."""
    if all(known is not listener for known, _ in _listeners):
        _listeners.append((listener, False))
    return listener


def listen_many(listener: ManyListener) -> ManyListener:
    """Call ``listener`` once with the events emitted together in a transaction, in order, once
    it committed (an event emitted outside any transaction comes alone): for consumers that pay
    per call, such as a round trip to Redis."""
    if all(known is not listener for known, _ in _listeners):
        _listeners.append((listener, True))
    return listener


def listen_in_transaction(names: Collection[str] | None = None) -> Callable[[Listener], Listener]:
    """Decorator: call the listener with every event (or only those named in ``names``) inside the
    transaction that emits it, for consumers that write rows of their own for it (webhook
    deliveries, status-rule messages): the rows commit with the change, and a rollback drops both.
    An event emitted outside any transaction reaches it at once (in a transaction of its own),
    before the after-commit listeners: emit inside ``transaction()`` for the guarantee.

    ``emit`` calls it in a savepoint of its own (``transaction()`` nested in the emitting one), so
    anything that fails in it, a read as much as a write, rolls back alone: the exception is
    logged, and the change and the other listeners' rows still commit (on PostgreSQL a failed
    statement outside a savepoint would abort the whole transaction). The listener may be called
    again for an event after another event of the same ``emit_many`` failed in it: it writes rows
    and after-commit work only, which the failed savepoint dropped."""
    wanted = frozenset(names) if names is not None else None

    def register(listener: Listener) -> Listener:
        if all(known is not listener for known, _ in _writers):
            _writers.append((listener, wanted))
        return listener

    return register


TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
TICKET_COMMENTED = "ticket.commented"
LEAD_CREATED = "lead.created"
LEAD_UPDATED = "lead.updated"
LEAD_CONVERTED = "lead.converted"
CONVERSATION_UPDATED = "conversation.updated"  # assigned, read or replied to

def new_event(name: str, tenant_id: UUID, subject_id: UUID, **data: Any) -> DomainEvent:
    return DomainEvent(name=name, tenant_id=tenant_id, subject_id=subject_id, data=data, occurred_at=utcnow())


async def emit(event: DomainEvent, plugins: Plugins | None = None) -> None:
    """Call ``seva_domain_event`` of each plugin enabled for the event's tenant (held until commit
    inside ``transaction()``). A plugin that raises is logged and skipped: the change has committed and
    the other plugins still hear of it."""
    await emit_many([event], plugins)


async def emit_many(emitted: Sequence[DomainEvent], plugins: Plugins | None = None) -> None:
    """``emit`` each event, in order, with one savepoint per in-transaction listener for all of them
    (a batch of N changes costs each listener one savepoint, not N)."""
    if not emitted:
        return
    if transactions.holding():
        await _write(emitted)
        for event in emitted:  # delivered after the commit with the events emitted next to them (listen_many)
            transactions.after_commit_gathered(_deliver_gathered, (event, plugins))
        return
    if transactions.in_plain_transaction():
        raise RuntimeError(f"emit({emitted[0].name}) inside in_transaction(): emit after the block, "
                           "or open it with core.transactions.transaction()")
    await _write(emitted)
    await _deliver(list(emitted), plugins)


async def _write(emitted: Sequence[DomainEvent]) -> None:
    """The in-transaction listeners, each in a savepoint of its own around the events it wants
    (none for a listener that wants none of them). If one event fails in a listener's savepoint,
    that listener's events are tried again one savepoint each, so only the failing event's rows
    are lost, and never another listener's."""
    for listener, names in list(_writers):
        wanted = [event for event in emitted if names is None or event.name in names]
        if not wanted:
            continue
        try:
            async with transactions.transaction():
                for event in wanted:
                    await listener(event)
            continue
        except Exception:  # noqa: BLE001 - its savepoint rolled back; the change and the other listeners go on
            if len(wanted) == 1:
                _log_failure(listener, wanted[0])
                continue
            log.warning("in-transaction listener %s failed on one of %d events: each again in its own savepoint",
                        _name(listener), len(wanted))
        for event in wanted:
            try:
                async with transactions.transaction():
                    await listener(event)
            except Exception:  # noqa: BLE001 - as above, for this event alone
                _log_failure(listener, event)


def _name(listener: Listener) -> str:
    return getattr(listener, "__qualname__", repr(listener))


def _log_failure(listener: Listener, event: DomainEvent) -> None:
    log.exception("in-transaction listener %s failed on event %s (tenant %s)", _name(listener), event.name, event.tenant_id)


async def _deliver_gathered(items: list[tuple[DomainEvent, Plugins | None]]) -> None:
    """After a commit: the events it emitted one after another, in runs of the same ``plugins``."""
    start = 0
    while start < len(items):
        end = start + 1
        while end < len(items) and items[end][1] is items[start][1]:
            end += 1
        await _deliver([event for event, _ in items[start:end]], items[start][1])
        start = end


async def _deliver(batch: list[DomainEvent], plugins: Plugins | None) -> None:
    for listener, many in list(_listeners):
        for delivery in ([batch] if many else batch):
            try:
                await listener(delivery)
            except Exception:  # noqa: BLE001 - the change committed; one consumer must not stop the others
                first = delivery[0] if many else delivery
                log.exception("listener %s failed on event %s (tenant %s)", getattr(listener, "__qualname__", listener),
                              first.name, first.tenant_id)
    plugins = plugins or get_plugins()
    if not plugins.pm.hook.seva_domain_event.get_hookimpls():
        return  # nobody listens: skip looking up the tenant's choices
    callers: dict[UUID, Any] = {}
    for event in batch:
        if event.tenant_id not in callers:
            callers[event.tenant_id] = await tenant_hook(event.tenant_id, "seva_domain_event", plugins)
        for plugin_id, function in plugins.implementers(callers[event.tenant_id]):
            try:
                function(event=event)
            except Exception:  # noqa: BLE001 - one plugin's failure must not reach the caller
                log.exception("plugin %s failed on event %s (tenant %s)", plugin_id, event.name, event.tenant_id)
