"""Domain events for plugins (``seva_domain_event``), delivered only after the change committed.

Tortoise has no after-commit callback. So a service either calls ``emit`` after its
``async with in_transaction()`` block has ended, or opens the transaction with
``async with events.atomic():``, which holds the events emitted inside it until it commits (and
drops them if it rolls back). ``emit`` inside a bare ``in_transaction()`` is a programming error
and raises. Events carry ids and states only, never personal data."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.transactions import in_transaction

from core.plugin_types import DomainEvent
from core.plugins import Plugins, get_plugins
from core.security import utcnow
from core.tenant_plugins import tenant_hook

log = logging.getLogger("seva.events")

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_DELETED = "customer.deleted"
CUSTOMER_RESTORED = "customer.restored"

_held: ContextVar[list[DomainEvent] | None] = ContextVar("seva_held_events", default=None)


def new_event(name: str, tenant_id: UUID, subject_id: UUID, **data: Any) -> DomainEvent:
    return DomainEvent(name=name, tenant_id=tenant_id, subject_id=subject_id, data=data, occurred_at=utcnow())


@asynccontextmanager
async def atomic() -> AsyncIterator[None]:
    """``in_transaction()`` whose emitted events are delivered after it commits, or dropped if it
    rolls back. Nested blocks hand their events to the enclosing one."""
    outer = _held.get()
    held: list[DomainEvent] = []
    token = _held.set(held)
    try:
        async with in_transaction():
            yield
    finally:
        _held.reset(token)
    if outer is not None:
        outer.extend(held)
        return
    for event in held:
        await emit(event)


async def emit(event: DomainEvent, plugins: Plugins | None = None) -> None:
    """Call ``seva_domain_event`` of each plugin enabled for the event's tenant (held until commit
    inside ``atomic()``). A plugin that raises is logged and skipped: the change has committed and
    the other plugins still hear of it."""
    if (held := _held.get()) is not None:
        held.append(event)
        return
    if isinstance(connections.get("default"), TransactionalDBClient):
        raise RuntimeError(f"emit({event.name}) inside in_transaction(): emit after the block, or use events.atomic()")
    plugins = plugins or get_plugins()
    if not plugins.pm.hook.seva_domain_event.get_hookimpls():
        return  # nobody listens: skip looking up the tenant's choices
    caller = await tenant_hook(event.tenant_id, "seva_domain_event", plugins)
    for plugin_id, function in plugins.implementers(caller):
        try:
            function(event=event)
        except Exception:  # noqa: BLE001 - one plugin's failure must not reach the caller
            log.exception("plugin %s failed on event %s (tenant %s)", plugin_id, event.name, event.tenant_id)
