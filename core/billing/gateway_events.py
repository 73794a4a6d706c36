"""A payment gateway's webhook events, stored before they are processed (the gateway plugin's
webhook answers as soon as the event is stored; a job does the work).

- ``store`` keeps each event once per tenant, provider and event id: a replay stores nothing.
- ``process`` applies a stored event with the plugin's handler, once: it counts the attempt,
  and records the outcome (ids and states only). A handler raises ``Deferred`` when the event
  refers to something not recorded yet (a refund before its payment): the event stays
  unprocessed, to be tried again.
- ``process_with_retries`` is the job: process, and on a deferral or a failure ask for another
  try after a delay until ``max_attempts``; then the row stays unprocessed, with its outcome,
  for a person to look at.
- ``lost`` lists unprocessed events no retry is pending for (their job was lost), for a sweep.

The sweeps compare the rows' ``created_at`` and ``updated_at`` with the injectable clock
(``core.common.security.utcnow``); those columns are stamped from the same clock, Tortoise's
``auto_now`` included (``core.platform.database`` points ``tortoise.timezone.now`` at ``utcnow``),
so a pinned clock holds for the sweep too (tests/test_gateway_events.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from seva_crm.core.common.security import utcnow
from seva_crm.core.models import GatewayEvent

log = logging.getLogger("seva.billing")
Handler = Callable[[UUID, str, dict[str, Any]], Awaitable[str]]  # (tenant id, event name, payload) -> outcome


class Deferred(Exception):
    """Not yet: the event refers to something not recorded yet."""


async def store(tenant_id: UUID, provider: str, event_id: str, name: str, payload: dict[str, Any]) -> UUID | None:
    """Keep the event; its row id, or None if this event id was stored before."""
    try:
        row = await GatewayEvent.create(tenant_id=tenant_id, provider=provider, event_id=event_id[:64], name=name[:64],
                                        payload=payload, created_at=utcnow())  # the one clock: sweeps compare with it
    except IntegrityError:
        return None
    return row.id


async def process(row_id: UUID, handler: Handler) -> str:
    """Apply one stored event; returns the outcome. Safe to run again."""
    row = await GatewayEvent.get_or_none(id=row_id)
    if row is None or row.processed_at is not None:
        return "already processed"
    row.attempts += 1
    try:
        outcome = await handler(row.tenant_id, row.name, row.payload)
    except Deferred as exc:
        row.outcome = f"deferred: {exc}"[:200]
        await row.save(update_fields=["attempts", "outcome", "updated_at"])
        return row.outcome
    row.processed_at, row.outcome = utcnow(), outcome[:200]
    await row.save(update_fields=["attempts", "processed_at", "outcome", "updated_at"])
    log.info("%s event %s (%s): %s", row.provider, row.event_id, row.name, row.outcome)
    return row.outcome


async def process_with_retries(row_id: UUID, handler: Handler, *, retry: Callable[[UUID, float], Awaitable[None]],
                               max_attempts: int, delay: Callable[[int], float]) -> None:
    """Process the event; if it was deferred or failed, call ``retry(row_id, delay(attempts))``
    until ``max_attempts``."""
    try:
        outcome = await process(row_id, handler)
    except Exception as exc:  # noqa: BLE001 - counted and retried below; the class only (no personal data)
        log.warning("gateway event %s failed to process (%s)", row_id, type(exc).__name__)
        await GatewayEvent.filter(id=row_id, processed_at__isnull=True).update(
            attempts=F("attempts") + 1, outcome=f"failed: {type(exc).__name__}"[:200], updated_at=utcnow())
    else:
        if not outcome.startswith("deferred"):
            return
    row = await GatewayEvent.get_or_none(id=row_id).only("id", "attempts", "processed_at")
    if row is None or row.processed_at is not None:
        return
    if row.attempts >= max_attempts:
        log.error("gateway event %s gave up after %d attempts", row_id, row.attempts)
        return
    await retry(row_id, delay(row.attempts))


async def unprocessed(provider: str, name: str, *, created_before: datetime, max_attempts: int,
                      limit: int = 1000) -> list[UUID]:
    """Unprocessed events of ``provider`` named ``name``, stored before ``created_before`` and not
    given up on (e.g. bKash checkouts nobody came back from)."""
    return await GatewayEvent.filter(provider=provider, name=name, processed_at__isnull=True, attempts__lt=max_attempts,
                                     created_at__lt=created_before).order_by("created_at").limit(limit).values_list("id", flat=True)


async def lost(provider: str, *, idle_for: timedelta, max_attempts: int, limit: int = 1000) -> list[UUID]:
    """Unprocessed events of ``provider`` untouched for ``idle_for`` and not given up on."""
    cutoff = utcnow() - idle_for
    return await GatewayEvent.filter(provider=provider, processed_at__isnull=True, attempts__lt=max_attempts,
                                     updated_at__lt=cutoff).limit(limit).values_list("id", flat=True)
