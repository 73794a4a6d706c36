"""Outbox throughput through a real broker (Redis, or RabbitMQ), against a bare dramatiq actor.

One run seeds a throwaway database (SQLite file by default, or PostgreSQL) with a tenant and
100 customers, then:

* outbox: queues ``--messages`` service messages with ``core.outbox.queue_message`` (in
  transactions of 1,000; each send enqueued after its commit), then starts a dramatiq Worker
  (``--threads``, on its own event loop and Tortoise context, as ``seva worker`` runs it) and
  times until every row is ``sent`` through a no-op channel. Every message must reach the
  channel exactly once: none lost, none duplicated.
* bare: enqueues the same number of messages for an async dramatiq actor that does nothing,
  on the same broker with the same worker settings, and times until all have run.

It prints messages/s for both and their ratio (outbox / bare).

    .venv/bin/python bench/outbox_throughput.py [--messages 10000] [--threads 8] [--redis-url redis://127.0.0.1:6379/14]
    .venv/bin/python bench/outbox_throughput.py --postgres      # throwaway database on 127.0.0.1:5432
    .venv/bin/python bench/outbox_throughput.py --broker-url amqp://guest:guest@127.0.0.1:5672/   # RabbitMQ
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
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
    p.add_argument("--threads", type=int, default=8, help="worker threads (jobs at once)")
    p.add_argument("--broker-url", "--redis-url", dest="redis_url", default="redis://127.0.0.1:6379/14",
                   help="redis://... or amqp://... (its queues are purged: use one nothing else needs)")
    p.add_argument("--database-url", help="an empty database to use (default: SQLite file in a temp dir)")
    p.add_argument("--postgres", action="store_true", help="create and drop a throwaway database on 127.0.0.1:5432")
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


async def bench_outbox(args) -> float:
    from seva_crm.core import jobs
    from seva_crm.core.messaging import outbox
    from seva_crm.core.platform.channels import Purpose
    from seva_crm.core.platform.database import init_db, migrate
    from seva_crm.core.common.enums import MessageStatus, Region
    from seva_crm.core.models import Customer, Message
    from seva_crm.core.platform.plugins import Plugins, set_plugins
    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.identity.tenants import create_tenant
    from seva_crm.core.storage.transactions import transaction
    from tests.channel_plugin import ChannelPlugin

    settings = get_settings()
    await migrate(settings)
    await init_db(settings)
    tenant, _ = await create_tenant("Bench Centre", Region.IN, "owner@bench.example.com", "bench-password-0123456789")
    await Customer.bulk_create([Customer(tenant_id=tenant.id, name=f"Customer {i}", phone=f"+9198765{i:05d}")
                                for i in range(CUSTOMERS)])
    customers = [c.id for c in await Customer.filter(tenant_id=tenant.id)]
    channel = CountingChannel()
    set_plugins(Plugins(discover=False, extra=(ChannelPlugin([channel], "bench"),)))
    broker = jobs.setup_jobs(args.redis_url, namespace=f"bench-{uuid.uuid4().hex[:8]}")
    broker.flush_all()
    try:
        start = time.perf_counter()
        for batch in range(0, args.messages, 1000):
            async with transaction():
                for i in range(batch, min(batch + 1000, args.messages)):
                    await outbox.queue_message(tenant.id, customers[i % CUSTOMERS], purpose=Purpose.SERVICE,
                                               template="renewal_due", body=f"Your plan {i} is due for renewal.")
        queued = time.perf_counter() - start
        print(f"outbox: queued {args.messages} rows + jobs in {queued:.2f}s ({args.messages / queued:,.0f}/s)")

        runner = jobs.Runner(broker, threads=args.threads).start()
        sent = lambda: Message.filter(tenant_id=tenant.id, status=MessageStatus.SENT).count()  # noqa: E731
        elapsed = await wait_until(lambda: _ge(sent, args.messages), 600)
        runner.stop()
        rate = args.messages / elapsed
        lost = args.messages - len(channel.sent)
        duplicated = sum(n - 1 for n in channel.sent.values() if n > 1)
        print(f"outbox: {args.messages} sent in {elapsed:.2f}s = {rate:,.0f} messages/s "
              f"(lost {lost}, duplicated {duplicated})")
        if lost or duplicated:
            raise SystemExit("outbox lost or duplicated messages")
        return rate
    finally:
        forget(broker)


def forget(broker) -> None:
    """Empty the broker: purge its queues; for Redis also delete every key of its namespace."""
    broker.flush_all()
    if hasattr(broker, "namespace"):  # Redis (RabbitMQ has no namespace, nor keys to scan)
        for key in broker.client.scan_iter(f"{broker.namespace}:*"):
            broker.client.delete(key)
    broker.close()


async def _ge(count, n: int) -> bool:
    return await count() >= n


async def bench_bare(args) -> float:
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

    async def noop(i: int) -> None:
        with lock:
            done["n"] += 1

    actor = dramatiq.actor(noop, broker=broker, actor_name="noop", max_retries=0)
    for i in range(args.messages):
        actor.send(i)
    worker = dramatiq.Worker(broker, worker_threads=args.threads, worker_timeout=100)
    worker.start()

    async def all_done() -> bool:
        return done["n"] >= args.messages

    elapsed = await wait_until(all_done, 600)
    worker.stop()
    forget(broker)
    rate = args.messages / elapsed
    print(f"bare dramatiq actor: {args.messages} run in {elapsed:.2f}s = {rate:,.0f} messages/s")
    return rate


async def bench(args, label: str) -> None:
    kind = "RabbitMQ" if args.redis_url.startswith("amqp") else "Redis"
    print(f"database: {label}; broker: {kind} {args.redis_url.rsplit('@', 1)[-1]}; worker threads: {args.threads}")
    outbox_rate = await bench_outbox(args)
    bare_rate = await bench_bare(args)
    print(f"ratio outbox / bare dramatiq: {outbox_rate / bare_rate:.3f}")
    from seva_crm.core.platform.database import close_db
    await close_db()


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
