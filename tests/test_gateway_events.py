"""Stored gateway events and the lost-event sweep on the injectable clock: every timestamp the
sweep compares (``updated_at``) is written from ``utcnow()``, so with a pinned clock an event is
lost exactly when it has been untouched for the idle time, whatever the wall clock says."""

from __future__ import annotations

from datetime import timedelta

from seva_crm.core.billing import gateway_events
from seva_crm.core.billing.gateway_events import Deferred
from seva_crm.core.common.security import utcnow
from seva_crm.core.models import GatewayEvent
from tests.clock_support import PINNED

IDLE = timedelta(minutes=10)


async def lost() -> list:
    return await gateway_events.lost("fakepay", idle_for=IDLE, max_attempts=3)


async def test_the_lost_event_sweep_runs_on_the_pinned_clock(tenant, clock):
    clock.tick = False
    row_id = await gateway_events.store(tenant.id, "fakepay", "evt_1", "payment.captured", {"id": "pay_1"})
    row = await GatewayEvent.get(id=row_id)
    assert row.created_at == row.updated_at == PINNED  # the injectable clock's, not the wall clock's
    assert await lost() == []  # just stored: its job is pending

    clock.advance(minutes=9)
    assert await lost() == []
    clock.advance(minutes=2)
    assert await lost() == [row_id]  # untouched for 11 minutes: its job was lost

    async def not_yet(tenant_id, name, payload) -> str:
        raise Deferred("no payment yet")

    assert (await gateway_events.process(row_id, not_yet)).startswith("deferred")
    row = await GatewayEvent.get(id=row_id)
    assert (row.attempts, row.updated_at, row.processed_at) == (1, utcnow(), None)
    assert await lost() == []  # touched just now: a retry is pending
    clock.advance(minutes=11)
    assert await lost() == [row_id]

    async def done(tenant_id, name, payload) -> str:
        return "payment recorded"

    assert await gateway_events.process(row_id, done) == "payment recorded"
    row = await GatewayEvent.get(id=row_id)
    assert (row.attempts, row.processed_at, row.updated_at) == (2, utcnow(), utcnow())
    clock.advance(hours=5)
    assert await lost() == []  # processed: never lost


async def test_a_failed_attempt_is_stamped_on_the_clock_and_given_up_after_the_last(tenant, clock):
    clock.tick = False
    row_id = await gateway_events.store(tenant.id, "fakepay", "evt_2", "refund.processed", {"id": "rfnd_1"})
    retries = []

    async def broken(tenant_id, name, payload) -> str:
        raise RuntimeError("gateway down")

    async def retry(row, delay) -> None:
        retries.append((row, delay))

    for attempt in range(1, 4):
        clock.advance(minutes=11)
        assert await lost() == [row_id]
        await gateway_events.process_with_retries(row_id, broken, retry=retry, max_attempts=3, delay=lambda n: 30.0 * n)
        row = await GatewayEvent.get(id=row_id)
        assert (row.attempts, row.updated_at, row.outcome) == (attempt, utcnow(), "failed: RuntimeError")
        assert await lost() == []
    assert retries == [(row_id, 30.0), (row_id, 60.0)]  # no third retry: given up after 3 attempts
    clock.advance(days=1)
    assert await lost() == []  # given up: left for a person, not swept
