"""The conversation list (an agent's inbox): what reading a page's unread counts and last messages
for the whole page at once saves over asking per conversation.

One run seeds a throwaway database (SQLite file by default, or PostgreSQL) with ``--conversations``
customers who wrote 1-4 messages each (half of them answered), then, in interleaved rounds
(alternating which goes first), reads a page of ``--page`` conversations, newest first, with each
one's customer, unread count and newest message two ways:

* ``batched``  - what the API does (``core.messaging.conversations.unread_counts`` and
  ``last_entries`` for the page, customers by one ``id IN``): a fixed number of statements;
* ``per-row``  - the reference, as the list did before: per conversation one count of unread
  inbound messages, the newest outbound and the newest inbound message, and the customer.

Both must give the same rows (checked before timing). It prints ms per page for each (min /
median / max over the rounds), the per-row/batched ratio per round, and the statements each
side sends for one page (captured from Tortoise's query log).

    .venv/bin/python bench/conversation_list.py [--conversations 2000] [--page 50] [--rounds 7] [--repeat 20]
    .venv/bin/python bench/conversation_list.py --postgres      # throwaway database on 127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import datetime, timedelta, timezone

from _common import bench_parser, database, interleaved, ratios, run, spread, tenant  # bench/_common.py


class Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        self.logger = logging.getLogger("tortoise.db_client")
        self.saved = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.saved)


async def seed(n: int):
    from tortoise.transactions import in_transaction

    from seva_crm.core.models import Conversation, Customer, InboundMessage, Message

    t = await tenant()
    now = datetime.now(timezone.utc)
    for start in range(0, n, 1000):
        customers, inbound, outbound, rows = [], [], [], []
        for i in range(start, min(n, start + 1000)):
            at = now - timedelta(minutes=i)
            c = Customer(tenant_id=t.id, name=f"Customer {i:06d}", phone=f"+9198{i:08d}")
            customers.append(c)
            inbound += [InboundMessage(tenant_id=t.id, customer_id=c.id, channel="whatsapp", provider_id=f"w.{i}.{j}",
                                       sender=c.phone, body=f"question {j}", received_at=at + timedelta(seconds=j))
                        for j in range(i % 4 + 1)]
            if i % 2:
                outbound.append(Message(tenant_id=t.id, customer_id=c.id, purpose="service", template="conversation_reply",
                                        body=f"answer {i}", channel="whatsapp", status="sent", idempotency_key=f"r{i}",
                                        created_at=at + timedelta(seconds=10)))
            rows.append(Conversation(tenant_id=t.id, customer_id=c.id, last_inbound_at=at + timedelta(seconds=i % 4),
                                     last_read_at=at + timedelta(seconds=1) if i % 3 == 0 else None, updated_at=at))
        async with in_transaction():
            await Customer.bulk_create(customers, batch_size=500)
            await InboundMessage.bulk_create(inbound, batch_size=500)
            await Message.bulk_create(outbound, batch_size=500)
            await Conversation.bulk_create(rows, batch_size=500)
    return t.id


async def page_rows(tenant_id, size: int):
    from seva_crm.core.models import Conversation

    return await Conversation.filter(tenant_id=tenant_id).order_by("-updated_at", "-id").limit(size)


async def batched(tenant_id, size: int) -> list[tuple]:
    from seva_crm.core.messaging import conversations
    from seva_crm.core.models import Customer

    rows = await page_rows(tenant_id, size)
    unread = await conversations.unread_counts(tenant_id, [r.id for r in rows])
    last = await conversations.last_entries(tenant_id, [r.customer_id for r in rows])
    names = {c.id: c.name for c in await Customer.filter(tenant_id=tenant_id, id__in=[r.customer_id for r in rows])}
    return [(names[r.customer_id], unread.get(r.id, 0), last[r.customer_id].item.body) for r in rows]


async def per_row(tenant_id, size: int) -> list[tuple]:
    from seva_crm.core.models import Customer, InboundMessage, Message

    out = []
    for r in await page_rows(tenant_id, size):
        qs = InboundMessage.filter(tenant_id=tenant_id, customer_id=r.customer_id)
        unread = await (qs.filter(received_at__gt=r.last_read_at) if r.last_read_at else qs).count()
        m_out = await Message.filter(tenant_id=tenant_id, customer_id=r.customer_id).order_by("-created_at", "-id").first()
        m_in = await qs.order_by("-received_at", "-id").first()
        newest = max((x for x in ((m_out.created_at, m_out.body) if m_out else None,
                                  (m_in.received_at, m_in.body) if m_in else None) if x), key=lambda x: x[0])
        name = (await Customer.get(tenant_id=tenant_id, id=r.customer_id)).name
        out.append((name, unread, newest[1]))
    return out


async def bench(args: argparse.Namespace, label: str) -> None:
    from tortoise import connections

    async with database() as settings:
        t0 = time.perf_counter()
        tenant_id = await seed(args.conversations)
        print(f"{label}: seeded {args.conversations} conversations in {time.perf_counter() - t0:.1f}s")
        if settings.db_url.startswith("postgres"):
            await connections.get("default").execute_script("ANALYZE")
        sides = {"batched": batched, "per-row": per_row}
        answers, counts = {}, {}
        for name, work in sides.items():
            with Statements() as seen:
                answers[name] = await work(tenant_id, args.page)
            counts[name] = seen.count
        if answers["batched"] != answers["per-row"]:
            sys.exit("the two sides disagree: not timing")
        def pages(work):
            async def timed() -> float:  # ms per page, over --repeat pages
                t = time.perf_counter()
                for _ in range(args.repeat):
                    await work(tenant_id, args.page)
                return (time.perf_counter() - t) * 1000 / args.repeat
            return timed

        times = await interleaved(args.rounds, {name: pages(work) for name, work in sides.items()})
        for name in sides:
            print(f"{name:>8}: {spread(times[name])} ms per page of {args.page} (min / median / max over {args.rounds} rounds); "
                  f"{counts[name]} statements per page")
        print(f"per-row/batched time ratio per round: {spread(ratios(times['per-row'], times['batched']))}")


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--page", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20, help="pages read per side and round")
    return parser.parse_args()


if __name__ == "__main__":
    run(parse_args(), bench)
