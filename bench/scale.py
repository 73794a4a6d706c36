"""Do the lists stay flat as a tenant grows? PostgreSQL only.

Seeds, with COPY, one tenant of ``--small`` customers (10,000) and one of ``--large`` (1,000,000),
beside a third tenant of ``--small`` customers (other tenants share every table and index), with
the rows an import and a year of work make (the migrations' indexes are dropped while copying and
built again after, as a restore does): each customer a phone, a search key and, three in
four, an email; one in ten the tag "vip" (one in a thousand "rare"); ``--records`` service
records (one in a hundred cancelled); a message (one in a hundred failed); every other customer
an invoice (paid or open, one in 500 void), each paid invoice a payment. Then VACUUM ANALYZE (what
autovacuum does to a live database), and asks the real GraphQL API (in process, one request at a
time, the caller's session checked as always) each question below for both tenants, interleaved
in rounds (small then large, then large then small), and prints p50 and p95 for each and the
ratios large/small (which should stay near 1; the target is at most 1.5).

Name and phone searches are asked both through ``customers(filter: {search: ...})`` (a substring
of name, email or phone) and through ``customerSearch`` (the forgiving search).

Last, the write cost of the indexes migration 0026 added (core/migrations/0026_scale.py): the
same import (``--write-rows`` customers with their tags, records, messages, invoices and payments,
by COPY, in a transaction rolled back) with those indexes and, in the same rounds, alternating
which goes first, with them dropped (inside the transaction); it prints per table the ratio
with/without (min / median / max over ``--write-rounds``).

    .venv/bin/python bench/scale.py --postgres [--large 1000000] [--small 10000] [--requests 30] [--rounds 2]
    .venv/bin/python bench/scale.py --database-url postgres://postgres@127.0.0.1:5432/db --large 100000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scratch import run_in, scratch  # bench/scratch.py: the throwaway database

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-0123456789"
EDGES = "{ edges { node { id name } } }"
IDS = "{ edges { node { id } } }"
CHUNK = 100_000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--large", type=int, default=1_000_000)
    p.add_argument("--small", type=int, default=10_000)
    p.add_argument("--records", type=int, default=1, help="service records per customer")
    p.add_argument("--requests", type=int, default=30, help="timed requests per question, tenant and round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--write-rows", type=int, default=20_000, help="customers imported per round of the index write cost")
    p.add_argument("--write-rounds", type=int, default=4)
    p.add_argument("--only", help="ask only the questions whose name contains this")
    p.add_argument("--database-url", help="an empty PostgreSQL database to use")
    p.add_argument("--postgres", action="store_true", help="create and drop a throwaway database on 127.0.0.1:5432")
    return p.parse_args()


def tenant_rows(tenant_id: uuid.UUID, lo: int, hi: int, records: int, start: datetime) -> dict[str, list[tuple]]:
    """Customers ``lo`` to ``hi`` (one minute apart, customer 0 the newest) and their rows."""
    from seva_crm.core.customers.name_key import name_key, skeleton

    prefix = name_key("Customer")
    rows: dict[str, list[tuple]] = {t: [] for t in TABLES}
    for i in range(lo, hi):
        cid, created = uuid.uuid4(), start - timedelta(minutes=i)
        name = f"Customer {i:07d}"
        key = f"{prefix} {skeleton(f'{i:07d}')}"  # == name_key(name), without its cost per row
        tag = ["vip"] if i % 10 == 0 else ["rare"] if i % 1000 == 7 else []
        rows["customer"].append((cid, created, created, name, key, f"+9197{i:08d}",
                                 f"person{i}@example.com" if i % 4 else None, "", "", "en", f"{tag}".replace("'", '"'),
                                 "", tenant_id, "[]"))
        rows["customer_tag"] += [(t, cid, tenant_id, created) for t in tag]
        rows["service_record"] += [
            (uuid.uuid4(), created + timedelta(seconds=j + 1), created + timedelta(seconds=j + 1), f"Service {j}", 5000, "INR",
             "cancelled" if (i + j) % 100 == 5 else "requested", "", "", cid, tenant_id) for j in range(records)]
        sent = created + timedelta(seconds=30)
        rows["message"].append((uuid.uuid4(), sent, sent, cid, "service", "receipt", "", "{}", "sms", "[]",
                                "failed" if i % 100 == 3 else "sent", 1, "", f"seed-{i}", tenant_id, "{}", ""))
        if i % 2 == 0:
            inv, billed = uuid.uuid4(), created + timedelta(seconds=60)
            paid = i % 4 == 0
            status = "void" if i % 500 == 2 else "paid" if paid else "open"
            rows["billing_invoice"].append((inv, billed, billed, f"INV-{i:07d}", status, "INR", 5000, 900, 5900,
                                            5900 if paid else 0, billed.date(), billed.date() + timedelta(days=15), "",
                                            cid, tenant_id))
            if paid:
                received = billed + timedelta(hours=1)
                rows["billing_payment"].append((uuid.uuid4(), received, received, 5900, "INR", "upi", "captured", "", 0,
                                                received, cid, inv, tenant_id))
    return rows


TABLES = {
    "customer": ["id", "created_at", "updated_at", "name", "name_key", "phone", "email", "address", "preferred_channel",
                 "language", "tags", "notes", "tenant_id", "disputed_fields"],
    "customer_tag": ["tag", "customer_id", "tenant_id", "customer_created_at"],
    "service_record": ["id", "created_at", "updated_at", "service_name", "fee_amount", "currency", "status",
                       "reference_number", "notes", "customer_id", "tenant_id"],
    "message": ["id", "created_at", "updated_at", "customer_id", "purpose", "template", "body", "variables", "channel",
                "channels_tried", "status", "attempts", "last_error", "idempotency_key", "tenant_id", "detail", "secret"],
    "billing_invoice": ["id", "created_at", "updated_at", "number", "status", "currency", "subtotal", "tax_total", "total",
                        "amount_paid", "issued_on", "due_on", "notes", "customer_id", "tenant_id"],
    "billing_payment": ["id", "created_at", "updated_at", "amount", "currency", "method", "status", "reference",
                        "refunded_amount", "received_at", "customer_id", "invoice_id", "tenant_id"],
}


async def copy_rows(conn, rows: dict[str, list[tuple]], timings: dict[str, float] | None = None) -> None:
    for table, columns in TABLES.items():
        t = time.perf_counter()
        await conn.copy_records_to_table(table, records=rows[table], columns=columns)
        if timings is not None:
            timings[table] = timings.get(table, 0.0) + time.perf_counter() - t


async def copy_tenant(conn, tenant_id: uuid.UUID, n: int, records: int, start: datetime) -> None:
    for lo in range(0, n, CHUNK):
        await copy_rows(conn, tenant_rows(tenant_id, lo, min(n, lo + CHUNK), records, start))


async def first_at(conn, sql: str, tenant_id: uuid.UUID, offset: int):
    return await conn.fetchrow(sql + " OFFSET $2 LIMIT 1", tenant_id, offset)


async def questions(conn, tenant_id: uuid.UUID, n: int, records: int, start: datetime) -> dict[str, str]:
    from seva_crm.core.common.ids import to_global_id
    from seva_crm.core.common.paging import encode_cursor

    deep = n * 9 // 10  # customer 9n/10: its row, records, message, invoice and payment are 90% down each list
    cust = await first_at(conn, "SELECT id, created_at FROM customer WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC",
                          tenant_id, deep)
    rec = await first_at(conn, "SELECT id, created_at FROM service_record WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC",
                         tenant_id, deep * records)
    msg = await first_at(conn, "SELECT id, created_at FROM message WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC",
                         tenant_id, deep)
    inv = await first_at(conn, "SELECT id, created_at, due_on FROM billing_invoice WHERE tenant_id = $1 "
                         "ORDER BY created_at DESC, id DESC", tenant_id, deep // 2)
    pay = await first_at(conn, "SELECT id, received_at FROM billing_payment WHERE tenant_id = $1 "
                         "ORDER BY received_at DESC, id DESC", tenant_id, deep // 4)
    customer = to_global_id("Customer", cust["id"])
    middle = start - timedelta(minutes=n // 2)
    rare = f"Customer {n - 3:07d}"
    phone = f"{n - 5:08d}"[-6:]
    after = lambda row, key="created_at": encode_cursor(row[key], row["id"])  # noqa: E731
    return {
        "first page": "{ customers(first: 50) %s }" % EDGES,
        "deep page (90%)": '{ customers(first: 50, after: "%s") %s }' % (after(cust), EDGES),
        "filter.search name, common": '{ customers(first: 50, filter: {search: "Customer"}) %s }' % EDGES,
        "filter.search name, rare": '{ customers(first: 50, filter: {search: "%s"}) %s }' % (rare, EDGES),
        "filter.search phone fragment": '{ customers(first: 50, filter: {search: "%s"}) %s }' % (phone, EDGES),
        "customerSearch name, rare": '{ customerSearch(text: "%s") { score customer { id } } }' % rare,
        "customerSearch phone fragment": '{ customerSearch(text: "%s") { score customer { id } } }' % phone,
        "email": '{ customers(filter: {email: "PERSON%d@example.com"}) %s }' % (n - 2, EDGES),
        "tag, common": '{ customers(first: 50, filter: {tags: ["vip"]}) %s }' % EDGES,
        "tag, rare": '{ customers(first: 50, filter: {tags: ["rare"]}) %s }' % EDGES,
        "date range": '{ customers(first: 50, filter: {createdAfter: "%s", createdBefore: "%s"}) %s }'
                      % ((middle - timedelta(days=1)).isoformat(), middle.isoformat(), EDGES),
        **{f"order {o}": "{ customers(first: 50, orderBy: %s) %s }" % (o, EDGES)
           for o in ("CREATED_AT_ASC", "UPDATED_AT_DESC", "NAME_ASC", "NAME_DESC")},
        "nested records (50 x 5)": "{ customers(first: 50) { edges { node { id serviceRecords(first: 5) %s } } } }" % IDS,
        "totalCount": "{ customers { totalCount } }",
        "cappedCount(max: 10000)": "{ customers { cappedCount(max: 10000) { count isExact } } }",
        "records, first": "{ serviceRecords(first: 50) %s }" % IDS,
        "records, deep": '{ serviceRecords(first: 50, after: "%s") %s }' % (after(rec), IDS),
        "records, a customer's": '{ serviceRecords(filter: {customerId: "%s"}) %s }' % (customer, IDS),
        "records, cancelled": "{ serviceRecords(first: 50, filter: {status: [CANCELLED]}) %s }" % IDS,
        "messages, first": "{ messages(first: 50) %s }" % IDS,
        "messages, deep": '{ messages(first: 50, after: "%s") %s }' % (after(msg), IDS),
        "messages, failed": "{ messages(first: 50, status: [FAILED]) %s }" % IDS,
        "messages, a customer's": '{ messages(customer: "%s") %s }' % (customer, IDS),
        "invoices, first": "{ invoices(first: 50) %s }" % IDS,
        "invoices, deep": '{ invoices(first: 50, after: "%s") %s }' % (after(inv), IDS),
        "invoices, due newest": "{ invoices(first: 50, orderBy: DUE_ON_DESC) %s }" % IDS,
        "invoices, due deep": '{ invoices(first: 50, orderBy: DUE_ON_DESC, after: "%s") %s }' % (after(inv, "due_on"), IDS),
        "invoices, open": "{ invoices(first: 50, filter: {status: [OPEN]}) %s }" % IDS,
        "invoices, void": "{ invoices(first: 50, filter: {status: [VOID]}) %s }" % IDS,
        "invoices, a customer's": '{ invoices(filter: {customerId: "%s"}) %s }' % (customer, IDS),
        "payments, first": "{ payments(first: 50) %s }" % IDS,
        "payments, deep": '{ payments(first: 50, after: "%s") %s }' % (after(pay, "received_at"), IDS),
        "payments, a customer's": '{ payments(filter: {customerId: "%s"}) %s }' % (customer, IDS),
        "payments, by created": "{ payments(first: 50, orderBy: CREATED_AT_DESC) %s }" % IDS,
    }


async def new_indexes(conn) -> list[str]:
    """The names of the indexes migration 0026 created."""
    import importlib

    migration = importlib.import_module("seva_crm.core.migrations.0026_scale")
    names = list(migration.TRIGRAM_INDEXES)
    wanted = {("customer_tag", "(tenant_id, tag, customer_created_at, customer_id)"),
              ("billing_invoice", "(tenant_id, status, created_at, id)"),
              ("message", "(tenant_id, status, created_at, id)"), ("billing_payment", "(tenant_id, received_at, id)"),
              ("billing_payment", "(tenant_id, customer_id, received_at)"),
              ("service_record", "(tenant_id, status, created_at, id)"), ("customer", "(tenant_id, household_contact_id)")}
    for row in await conn.fetch("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"):
        if any(row["tablename"] == t and row["indexdef"].endswith(cols) for t, cols in wanted):
            names.append(row["indexname"])
    assert len(names) == 3 + len(wanted), names
    return names


async def write_cost(conn, tenant_id: uuid.UUID, args) -> None:
    """The same import with 0026's indexes and without them, in rolled-back transactions."""
    dropped = await new_indexes(conn)
    ratios: dict[str, list[float]] = {}
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for round_ in range(args.write_rounds):
        took: dict[bool, dict[str, float]] = {}
        for with_them in ((True, False) if round_ % 2 == 0 else (False, True)):
            # fresh rows each time (their own uuids, phones beyond the tenant's) in a tenant of the large size
            rows = tenant_rows(tenant_id, args.large + round_ * args.write_rows, args.large + (round_ + 1) * args.write_rows,
                               args.records, start)
            tr = conn.transaction()
            await tr.start()
            try:
                if not with_them:
                    for name in dropped:
                        await conn.execute(f'DROP INDEX "{name}"')
                took[with_them] = {}
                await copy_rows(conn, rows, took[with_them])
            finally:
                await tr.rollback()
        for table in TABLES:
            ratios.setdefault(table, []).append(took[True][table] / took[False][table])
        ratios.setdefault("all", []).append(sum(took[True].values()) / sum(took[False].values()))
    print(f"\nwrite cost of 0026's indexes on import ({args.write_rows:,} customers and their rows per round, COPY into the "
          f"large tenant, {args.write_rounds} rounds): time with / without, min / median / max")
    for table, xs in ratios.items():
        print(f"  {table:<18}{min(xs):>6.2f} /{statistics.median(xs):>5.2f} /{max(xs):>5.2f}")


async def bench(args, label: str) -> None:
    import asyncpg
    import httpx

    from seva_crm.core.common.enums import Region
    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.customers.name_key import name_key, skeleton
    from seva_crm.core.identity.auth import login
    from seva_crm.core.identity.tenants import create_tenant
    from seva_crm.core.platform.database import close_db, init_db, migrate
    from seva_crm.schema.app import create_app

    assert all(name_key(f"Customer {i:07d}") == f"{name_key('Customer')} {skeleton(f'{i:07d}')}" for i in range(0, 10**6, 997))
    settings = get_settings()
    if not settings.db_url.startswith("postgres"):
        raise SystemExit("scale.py runs on PostgreSQL: give --postgres or --database-url")
    await migrate(settings)
    await init_db(settings)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    try:
        sizes, tokens, asks, tenants = {"small": args.small, "large": args.large}, {}, {}, {}
        conn = await asyncpg.connect(settings.db_url.split("?")[0])
        try:
            t0 = time.perf_counter()
            # as a restore does: the migrations' indexes (all but those of constraints) dropped
            # while the rows are copied, then built again from their own definitions
            indexes = await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = 'public' AND tablename = ANY($1::text[]) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", list(TABLES))
            for row in indexes:
                await conn.execute(f'DROP INDEX "{row["indexname"]}"')
            await conn.execute("SET session_replication_role = replica")  # no foreign-key check per row: made consistent
            for name, n in [("other", args.small), *sizes.items()]:
                email = f"owner-{name}@bench.example.com"
                tenant, _ = await create_tenant(f"Bench {name}", Region.IN, email, PASSWORD)
                tenants[name] = tenant.id
                t = time.perf_counter()
                await copy_tenant(conn, tenant.id, n, args.records, start)
                print(f"  tenant {name}: {n:,} customers and their rows copied in {time.perf_counter() - t:.0f}s", flush=True)
                if name != "other":
                    tokens[name] = (await login(email, PASSWORD, ip="127.0.0.1")).access_token
            await conn.execute("RESET session_replication_role")
            copied = time.perf_counter() - t0
            await conn.execute("SET maintenance_work_mem = '256MB'")
            for row in indexes:
                await conn.execute(row["indexdef"])
            built = time.perf_counter() - t0 - copied
            await conn.execute("VACUUM ANALYZE")
            vacuumed = time.perf_counter() - t0 - copied - built
            for name, n in sizes.items():
                asks[name] = await questions(conn, tenants[name], n, args.records, start)
            counts = {t: (await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}
            print(f"seeded by COPY in {copied:.0f}s, {len(indexes)} indexes built in {built:.0f}s, VACUUM ANALYZE {vacuumed:.0f}s: "
                  + ", ".join(f"{t} {c:,}" for t, c in counts.items()))
        finally:
            await conn.close()

        app = create_app(manage_db=False)
        timings: dict[tuple[str, str], list[float]] = {}
        names = [q for q in asks["small"] if not args.only or args.only in q]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120) as client:
            async def ask(size: str, query: str) -> float:
                t = time.perf_counter()
                r = await client.post("/graphql", json={"query": query}, headers={"authorization": f"Bearer {tokens[size]}"})
                elapsed = time.perf_counter() - t
                assert r.status_code == 200 and "errors" not in r.json(), r.text[:500]
                return elapsed

            for question in names:
                for round_ in range(args.rounds):
                    for size in (("small", "large") if round_ % 2 == 0 else ("large", "small")):
                        query = asks[size][question]
                        await ask(size, query)  # warm-up
                        timings.setdefault((question, size), []).extend(
                            [await ask(size, query) for _ in range(args.requests)])
    finally:
        await close_db()

    def pct(xs: list[float], q: int) -> float:
        return statistics.quantiles(xs, n=100)[q - 1] * 1000 if len(xs) > 1 else xs[0] * 1000

    print(f"database: {label} | tenants: {args.small:,} and {args.large:,} customers (+ one of {args.small:,} beside) | "
          f"{args.rounds} interleaved rounds x {args.requests} requests")
    print(f"{'question':<32}{'p50 small':>10}{'p50 large':>10}{'ratio':>7}{'p95 small':>11}{'p95 large':>10}{'ratio':>7}")
    worst = 0.0
    for question in names:
        s, big = timings[(question, "small")], timings[(question, "large")]
        r50, r95 = pct(big, 50) / pct(s, 50), pct(big, 95) / pct(s, 95)
        worst = max(worst, r50) if question != "totalCount" else worst
        flag = "" if r50 <= 1.5 else "  > 1.5"
        print(f"{question:<32}{pct(s, 50):>10.1f}{pct(big, 50):>10.1f}{r50:>7.2f}{pct(s, 95):>11.1f}{pct(big, 95):>10.1f}"
              f"{r95:>7.2f}{flag}")
    print(f"worst p50 ratio large/small, totalCount aside: {worst:.2f} "
          "(ms figures include the in-process HTTP client and the session check)")

    if args.write_rounds:
        conn = await asyncpg.connect(settings.db_url.split("?")[0])
        try:
            await write_cost(conn, tenants["large"], args)
        finally:
            await conn.close()


def main() -> None:
    args = parse_args()
    where = scratch(args.postgres, args.database_url)
    os.environ.update(SEVA_ENV="development", SEVA_DATA_DIR=where.tmp, SEVA_DATABASE_URL=where.url,
                      SEVA_SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnop", SEVA_ACCESS_TOKEN_MINUTES="600")
    sys.path.insert(0, str(ROOT))
    run_in(where, bench(args, where.label))


if __name__ == "__main__":
    main()
