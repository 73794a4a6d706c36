"""What the in-transaction listeners' savepoints cost: database round trips and time per event.

Three sides, each emitting the same events (customer.updated) inside one transaction per batch, to
the same in-transaction listeners (webhook fan-out, status rules): ``bare`` calls the listeners as
main did before this change (no savepoint around them; a failing read in one aborts the
PostgreSQL transaction), ``emit`` is ``events.emit`` once per event (a savepoint per listener per
event), ``emit_many`` is ``events.emit_many`` once per batch (a savepoint per listener per batch).
Two tenants: one without webhook endpoints (the common case: the listener only reads) and one
with an endpoint, so each event writes a delivery row. Round trips are counted at the driver
(asyncpg's or aiosqlite's calls, so SAVEPOINT and RELEASE count as Tortoise's query log would
not); every side must write the same rows and deliver the same events after commit.

    .venv/bin/python bench/event_savepoints.py [--postgres | --database-url URL] [--rounds 5] [--batches 20]
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from _common import bench_parser, database, interleaved, ratios, run, spread, tenant

SIZES = (1, 50)  # events per transaction: a single change, and one outbox batch (GROUP_COMMIT)


class RoundTrips:
    """Counts the driver calls that each cost a round trip to the database."""

    def __init__(self) -> None:
        self.count = 0
        self._undo: list[Callable[[], None]] = []

    def install(self) -> None:
        import aiosqlite
        import asyncpg

        for cls, names in ((asyncpg.connection.Connection, ("execute", "executemany", "fetch", "fetchrow", "fetchval")),
                           (aiosqlite.Connection, ("execute", "executemany", "execute_fetchall", "execute_insert"))):
            for name in names:
                self._wrap(cls, name)

    def _wrap(self, cls: type, name: str) -> None:
        original = getattr(cls, name)
        counter = self

        async def counted(self, *args, **kwargs):
            counter.count += 1
            return await original(self, *args, **kwargs)

        setattr(cls, name, counted)
        self._undo.append(lambda: setattr(cls, name, original))


async def bench(args, label: str) -> None:
    from seva_crm.core.common.principal import TenantScope
    from seva_crm.core.customers import customers
    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.messaging import webhooks
    from seva_crm.core.models import WebhookDelivery
    from seva_crm.core.platform import events
    from seva_crm.core.storage.transactions import transaction

    import seva_crm.core.runtime  # noqa: F401 - registers the in-transaction listeners (webhooks, status rules)

    webhooks.enqueue = lambda *a, **k: None  # delivery jobs are not this measure's
    get_settings().webhook_allow_private = True
    delivered: list[str] = []
    deliver = events._deliver

    async def counting_deliver(batch, plugins):
        delivered.extend(event.name for event in batch)
        await deliver(batch, plugins)

    events._deliver = counting_deliver

    async with database():
        quiet, hooked = await tenant("Quiet Centre"), await tenant("Hooked Centre")
        await webhooks.create_endpoint(TenantScope(hooked.id, hooked.region), {"url": "http://127.0.0.1:9/hook"})
        subjects = {}
        for t in (quiet, hooked):
            scope = TenantScope(t.id, t.region)
            subjects[t.id] = [(await customers.create_customer(scope, {"name": f"Bench {i}", "phone": None})).id
                              for i in range(max(SIZES))]

        async def bare(batch):
            for event in batch:  # main's _write: each listener called in the emitting transaction
                for listener, names in list(events._writers):
                    if names is None or event.name in names:
                        await listener(event)
                events.transactions.after_commit(lambda event=event: events._deliver([event], None))

        async def emit(batch):
            for event in batch:
                await events.emit(event)

        async def emit_many(batch):
            await events.emit_many(batch)

        trips = RoundTrips()
        trips.install()

        def side(way: Callable[[list], Awaitable[None]], tenant_id, size: int):
            async def measure() -> tuple[float, float, int, int]:
                rows_before, delivered_before = await WebhookDelivery.filter(tenant_id=tenant_id).count(), len(delivered)
                trips.count, started = 0, time.perf_counter()
                for _ in range(args.batches):
                    batch = [events.new_event(events.CUSTOMER_UPDATED, tenant_id, c, fields=["name"])
                             for c in subjects[tenant_id][:size]]
                    async with transaction():
                        await way(batch)
                seconds, count = time.perf_counter() - started, trips.count
                rows = await WebhookDelivery.filter(tenant_id=tenant_id).count() - rows_before
                n = args.batches * size
                return seconds * 1000 / n, count / n, rows, len(delivered) - delivered_before
            return measure

        print(f"{label}: {args.rounds} rounds of {args.batches} transactions per side; per event, min / median / max")
        for t, what in ((quiet, "no endpoint"), (hooked, "one endpoint")):
            for size in SIZES:
                sides = {"bare": side(bare, t.id, size), "emit": side(emit, t.id, size), "emit_many": side(emit_many, t.id, size)}
                results = await interleaved(args.rounds, sides)
                work = {name: {(r[2], r[3]) for r in runs} for name, runs in results.items()}
                if len({frozenset(w) for w in work.values()}) != 1:
                    raise SystemExit(f"the sides did not do the same work: {work}")
                ms = {name: [r[0] for r in runs] for name, runs in results.items()}
                trips_per = {name: [r[1] for r in runs] for name, runs in results.items()}
                print(f"  {what}, {size} event(s) per transaction (rows written per side per round: "
                      f"{results['bare'][0][2]}):")
                for name in sides:
                    print(f"    {name:9} round trips {spread(trips_per[name])}   ms {spread(ms[name], '{:.3f}')}")
                for name in ("emit", "emit_many"):
                    print(f"    {name}/bare time {spread(ratios(ms[name], ms['bare']))}")


def main() -> None:
    p = bench_parser(__doc__)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batches", type=int, default=20, help="transactions per side per round")
    run(p.parse_args(), bench)


if __name__ == "__main__":
    main()
