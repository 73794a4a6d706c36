"""Outbox throughput through a real broker (Redis, or RabbitMQ), against a bare dramatiq actor.

One run seeds a throwaway database (SQLite file by default, or PostgreSQL) with a tenant and
100 customers, then:

* outbox: queues ``--messages`` service messages with ``core.outbox.queue_message`` (in
  transactions of 1,000; each send enqueued after its commit), then starts a dramatiq Worker
  (``--threads``, on its own event loop and Tortoise context, as ``seva worker`` runs it) and
  times until every row is ``sent`` through a no-op channel. Every message must reach the
  channel exactly once: none lost, none duplicated.
* bare: enqueues the same number of messages for an async dramatiq actor that does nothing
  (but count, as the outbox's channel does), on the same broker with the same worker settings,
  and times until all have run: one broker message per message.
* bare batched (``--batched-reference``): the same actor given the messages in lists of the
  outbox's ``BATCH``, as the outbox's own jobs carry them (one broker message per batch): what the
  broker alone allows for the outbox's shape of work.

What is timed on each side is the worker's part only: the outbox's rows are written and its jobs
enqueued before its worker starts, as the bare side's messages are enqueued before its own. The
outbox side stops when its channel has had every message and every row reads ``sent`` (it waits
on the channel's counter first, so polling the database does not slow the run it measures).
The channel does what the bare actor does (count under a lock); the outbox's cost on top is its
claims, loading the context, choosing a channel and recording the outcomes.

The two run in interleaved rounds (``--rounds``, alternating which goes first), so drift on a
shared machine hits both alike; it prints min / median / max messages/s for each over the rounds,
the ratio outbox / bare of each round, and the SQL statements one outbox send costs (counted on
a separate batch of 50: the query log would slow the timed runs; the change feed's and the
disclosure ledger's bulk inserts, COPY on PostgreSQL and multi-row INSERTs on SQLite, are not in
Tortoise's log and not counted).

    .venv/bin/python bench/outbox_throughput.py [--messages 10000] [--rounds 3] [--threads 8] [--redis-url redis://127.0.0.1:6379/14]
    .venv/bin/python bench/outbox_throughput.py --postgres      # throwaway database on 127.0.0.1:5432
    .venv/bin/python bench/outbox_throughput.py --broker-url amqp://guest:guest@127.0.0.1:5672/   # RabbitMQ
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from scratch import run_in, scratch  # bench/scratch.py: the throwaway database

ROOT = Path(__file__).resolve().parent.parent
CUSTOMERS = 100


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (outbox and bare once each)")
    p.add_argument("--threads", type=int, default=8, help="worker threads (jobs at once)")
    p.add_argument("--broker-url", "--redis-url", dest="redis_url", default="redis://127.0.0.1:6379/14",
                   help="redis://... or amqp://... (its queues are purged: use one nothing else needs)")
    p.add_argument("--database-url", help="an empty database to use (default: SQLite file in a temp dir)")
    p.add_argument("--postgres", action="store_true", help="create and drop a throwaway database on 127.0.0.1:5432")
    p.add_argument("--batched-reference", action="store_true",
                   help="also time the bare actor given the messages in lists of the outbox's BATCH")
    return p.parse_args()


class CountingChannel:
    """A no-op channel that counts what reaches it."""

    name = "whatsapp"

    def __init__(self) -> None:
        self.sent: Counter = Counter()
        self.lock = threading.Lock()

    def can_reach(self, recipient) -> bool:
        return True

    async def send(self, message, settings):
        from seva_crm.core.platform.channels import SendResult

        with self.lock:
            self.sent[message.id] += 1
        return SendResult(provider_id=f"null-{message.id.hex}")


async def wait_until(check, limit: float) -> float:
    start = time.perf_counter()
    while not await check():
        if time.perf_counter() - start > limit:
            raise SystemExit("timed out")
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


async def prepare(args) -> CountingChannel:
    from seva_crm.core.platform.channels import Purpose  # noqa: F401  (imports the channel registry first)
    from seva_crm.core.platform.database import init_db, migrate
    from seva_crm.core.platform.plugins import Plugins, set_plugins
    from seva_crm.core.common.settings import get_settings
    from tests.channel_plugin import ChannelPlugin

    settings = get_settings()
    await migrate(settings)
    await init_db(settings)
    channel = CountingChannel()
    set_plugins(Plugins(discover=False, extra=(ChannelPlugin([channel], "bench"),)))
    return channel


async def bench_outbox(args, channel: CountingChannel, messages: int, sql: bool = False) -> tuple[float, float]:
    """Queue ``messages`` for a new tenant, run a worker until all are sent; returns (messages/s,
    SQL statements per message, counted only when ``sql``: the query log slows the run)."""
    from seva_crm.core import jobs
    from seva_crm.core.messaging import outbox
    from seva_crm.core.platform.channels import Purpose
    from seva_crm.core.common.enums import MessageStatus, Region
    from seva_crm.core.models import Customer, Message
    from seva_crm.core.identity.tenants import create_tenant
    from seva_crm.core.storage.transactions import transaction

    tenant, _ = await create_tenant("Bench Centre", Region.IN, f"owner-{uuid.uuid4().hex[:8]}@bench.example.com",
                                    "bench-password-0123456789")
    await Customer.bulk_create([Customer(tenant_id=tenant.id, name=f"Customer {i}", phone=f"+9198765{i:05d}")
                                for i in range(CUSTOMERS)])
    customers = [c.id for c in await Customer.filter(tenant_id=tenant.id)]
    channel.sent.clear()
    broker = jobs.setup_jobs(args.redis_url, namespace=f"bench-{uuid.uuid4().hex[:8]}")
    broker.flush_all()
    try:
        for batch in range(0, messages, 1000):
            async with transaction():
                for i in range(batch, min(batch + 1000, messages)):
                    await outbox.queue_message(tenant.id, customers[i % CUSTOMERS], purpose=Purpose.SERVICE,
                                               template="renewal_due", body=f"Your plan {i} is due for renewal.")
        log = SqlCount() if sql else contextlib.nullcontext()
        with log:
            runner = jobs.Runner(broker, threads=args.threads).start()
            start = time.perf_counter()

            async def reached() -> bool:  # in memory, as the bare side's counter
                return len(channel.sent) >= messages

            await wait_until(reached, 600)
            sent = lambda: Message.filter(tenant_id=tenant.id, status=MessageStatus.SENT).count()  # noqa: E731
            await wait_until(lambda: _ge(sent, messages), 600)
            elapsed = time.perf_counter() - start
            runner.stop()
        lost = messages - len(channel.sent)
        duplicated = sum(n - 1 for n in channel.sent.values() if n > 1)
        if lost or duplicated:
            raise SystemExit(f"outbox lost {lost} or duplicated {duplicated} messages")
        per_message = (log.count - log.polls) / messages if sql else 0.0
        return messages / elapsed, per_message
    finally:
        forget(broker)


class SqlCount(logging.Handler):
    """Counts the SQL statements Tortoise logs (every thread), apart from the bench's own polling."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = self.polls = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.polls += record.getMessage().lstrip().upper().startswith("SELECT COUNT(")

    def __enter__(self) -> SqlCount:
        self.logger = logging.getLogger("tortoise.db_client")
        self.level, self.propagate = self.logger.level, self.logger.propagate
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False  # counted, not printed
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level)
        self.logger.propagate = self.propagate


def forget(broker) -> None:
    """Empty the broker: purge its queues; for Redis also delete every key of its namespace."""
    broker.flush_all()
    if hasattr(broker, "namespace"):  # Redis (RabbitMQ has no namespace, nor keys to scan)
        for key in broker.client.scan_iter(f"{broker.namespace}:*"):
            broker.client.delete(key)
    broker.close()


async def _ge(count, n: int) -> bool:
    return await count() >= n


async def bench_bare(args, messages: int, batch: int = 1) -> float:
    import dramatiq
    from dramatiq.middleware import AsyncIO

    if args.redis_url.startswith("amqp"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=args.redis_url)
    else:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=args.redis_url, namespace=f"bench-bare-{uuid.uuid4().hex[:8]}")
    broker.add_middleware(AsyncIO())
    broker.flush_all()
    done = Counter()
    lock = threading.Lock()

    async def noop(items: list[int]) -> None:
        for _ in items:
            with lock:
                done["n"] += 1

    actor = dramatiq.actor(noop, broker=broker, actor_name="noop", max_retries=0)
    for i in range(0, messages, batch):
        actor.send(list(range(i, min(i + batch, messages))))
    worker = dramatiq.Worker(broker, worker_threads=args.threads, worker_timeout=100)
    worker.start()

    async def all_done() -> bool:
        return done["n"] >= messages

    elapsed = await wait_until(all_done, 600)
    worker.stop()
    forget(broker)
    rate = messages / elapsed
    return rate


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    """min / median / max."""
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


async def bench(args, label: str) -> None:
    kind = "RabbitMQ" if args.redis_url.startswith("amqp") else "Redis"
    print(f"database: {label}; broker: {kind} {args.redis_url.rsplit('@', 1)[-1]}; worker threads: {args.threads}; "
          f"{args.rounds} interleaved rounds of {args.messages} messages each")
    channel = await prepare(args)
    try:
        _, per_message = await bench_outbox(args, channel, 50, sql=True)
        print(f"SQL statements per outbox send: {per_message:.1f} (50 messages, the bench's own polling left out)")
        from seva_crm.core.messaging.outbox import BATCH

        names = ["outbox", "bare"] + (["batched"] if args.batched_reference else [])
        rates: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(args.rounds):
            for name in (names if round_ % 2 == 0 else names[::-1]):
                if name == "outbox":
                    rates[name].append((await bench_outbox(args, channel, args.messages))[0])
                else:
                    rates[name].append(await bench_bare(args, args.messages, BATCH if name == "batched" else 1))
                print(f"  round {round_ + 1}: {name:<7}{rates[name][-1]:>10,.0f} messages/s")
    finally:
        from seva_crm.core.platform.database import close_db
        await close_db()
    print(f"{'':<8}{'messages/s (min / median / max)':>36}")
    for name, xs in rates.items():
        print(f"{name:<8}{spread(xs):>36}")
    ratios = [o / b for o, b in zip(rates["outbox"], rates["bare"], strict=True)]
    print(f"ratio outbox / bare dramatiq per round: {spread(ratios, '{:.3f}')}; none lost, none duplicated")
    if args.batched_reference:
        ratios = [o / b for o, b in zip(rates["outbox"], rates["batched"], strict=True)]
        print(f"ratio outbox / bare dramatiq given lists of {BATCH} (the outbox's own broker messages): "
              f"{spread(ratios, '{:.3f}')}")


def main() -> None:
    args = parse_args()
    where = scratch(args.postgres, args.database_url)
    os.environ.update(SEVA_ENV="development", SEVA_DATA_DIR=where.tmp, SEVA_DATABASE_URL=where.url,
                      SEVA_BROKER_URL=args.redis_url, SEVA_SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnop")
    sys.path.insert(0, str(ROOT))
    logging.basicConfig(level=logging.WARNING)
    run_in(where, bench(args, where.label))


if __name__ == "__main__":
    main()
