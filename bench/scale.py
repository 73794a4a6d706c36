"""Do the lists stay flat as a tenant grows? PostgreSQL only.

Seeds, with COPY, one tenant of ``--small`` customers (10,000) and one of ``--large`` (1,000,000),
beside a third tenant of ``--small`` customers (other tenants share every table and index), with
the rows an import makes: each customer a phone, most an email, one in ten the tag "vip" (one in
a thousand "rare"), and ``--records`` service records each. Then ANALYZE, and asks the real
GraphQL API (in process, one request at a time, the caller's session checked as always) each
question below for both tenants, interleaved in rounds (small then large, then large then small),
and prints p50 and p95 for each, and the ratios large/small (which should stay near 1; the
target is at most 1.5).

Name and phone searches go through ``customers(filter: {search: ...})``, whatever index serves it.

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


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--large", type=int, default=1_000_000)
    p.add_argument("--small", type=int, default=10_000)
    p.add_argument("--records", type=int, default=1, help="service records per customer")
    p.add_argument("--requests", type=int, default=30, help="timed requests per question, tenant and round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--database-url", help="an empty PostgreSQL database to use")
    p.add_argument("--postgres", action="store_true", help="create and drop a throwaway database on 127.0.0.1:5432")
    return p.parse_args()


async def copy_tenant(conn, tenant_id: uuid.UUID, n: int, records: int, start: datetime) -> None:
    """``n`` customers one minute apart (newest first), their tags and service records, by COPY."""
    from seva_crm.core.common.enums import Currency, ServiceStatus

    for chunk in range(0, n, 100_000):
        customers, tags, recs = [], [], []
        for i in range(chunk, min(n, chunk + 100_000)):
            cid, created = uuid.uuid4(), start - timedelta(minutes=i)
            tag = ["vip"] if i % 10 == 0 else ["rare"] if i % 1000 == 7 else []
            customers.append((cid, created, created, f"Customer {i:07d}", f"+9197{i:08d}",
                              f"person{i}@example.com" if i % 4 else None, "", "", "en", f'{tag}'.replace("'", '"'),
                              "", tenant_id, "[]"))
            tags += [(t, cid, tenant_id) for t in tag]
            recs += [(uuid.uuid4(), created + timedelta(seconds=j + 1), created + timedelta(seconds=j + 1), f"Service {j}",
                      5000, Currency.INR.value, ServiceStatus.REQUESTED.value, "", "", cid, tenant_id)
                     for j in range(records)]
        await conn.copy_records_to_table("customer", records=customers, columns=[
            "id", "created_at", "updated_at", "name", "phone", "email", "address", "preferred_channel", "language",
            "tags", "notes", "tenant_id", "disputed_fields"])
        await conn.copy_records_to_table("customer_tag", records=tags, columns=["tag", "customer_id", "tenant_id"])
        await conn.copy_records_to_table("service_record", records=recs, columns=[
            "id", "created_at", "updated_at", "service_name", "fee_amount", "currency", "status", "reference_number",
            "notes", "customer_id", "tenant_id"])


def questions(n: int, deep_cursor: str, deep_record_cursor: str, some_customer: str, start: datetime) -> dict[str, str]:
    middle = start - timedelta(minutes=n // 2)
    rare = f"Customer {n - 3:07d}"
    return {
        "first page": "{ customers(first: 50) %s }" % EDGES,
        "deep page (90%)": '{ customers(first: 50, after: "%s") %s }' % (deep_cursor, EDGES),
        "search name, common": '{ customers(first: 50, filter: {search: "Customer"}) %s }' % EDGES,
        "search name, rare": '{ customers(first: 50, filter: {search: "%s"}) %s }' % (rare, EDGES),
        "search phone fragment": '{ customers(first: 50, filter: {search: "%s"}) %s }' % (f"{n - 5:08d}"[-6:], EDGES),
        "email": '{ customers(filter: {email: "PERSON%d@example.com"}) %s }' % (n - 2, EDGES),
        "tag, common": '{ customers(first: 50, filter: {tags: ["vip"]}) %s }' % EDGES,
        "tag, rare": '{ customers(first: 50, filter: {tags: ["rare"]}) %s }' % EDGES,
        "date range": '{ customers(first: 50, filter: {createdAfter: "%s", createdBefore: "%s"}) %s }'
                      % ((middle - timedelta(days=1)).isoformat(), middle.isoformat(), EDGES),
        **{f"order {o}": "{ customers(first: 50, orderBy: %s) %s }" % (o, EDGES)
           for o in ("CREATED_AT_ASC", "UPDATED_AT_DESC", "NAME_ASC", "NAME_DESC")},
        "totalCount": "{ customers { totalCount } }",
        "cappedCount(max: 10000)": "{ customers { cappedCount(max: 10000) { count isExact } } }",
        "service records, first": "{ serviceRecords(first: 50) { edges { node { id } } } }",
        "service records, deep": '{ serviceRecords(first: 50, after: "%s") { edges { node { id } } } }' % deep_record_cursor,
        "a customer's records": '{ serviceRecords(filter: {customerId: "%s"}) { edges { node { id } } } }' % some_customer,
    }


async def bench(args, label: str) -> None:
    import asyncpg
    import httpx

    from seva_crm.core.common.enums import Region
    from seva_crm.core.common.ids import to_global_id
    from seva_crm.core.common.paging import encode_cursor
    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.identity.auth import login
    from seva_crm.core.identity.tenants import create_tenant
    from seva_crm.core.models import Customer, ServiceRecord
    from seva_crm.core.platform.database import close_db, init_db, migrate
    from seva_crm.schema.app import create_app

    settings = get_settings()
    if not settings.db_url.startswith("postgres"):
        raise SystemExit("scale.py runs on PostgreSQL: give --postgres or --database-url")
    await migrate(settings)
    await init_db(settings)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    try:
        sizes, tokens, asks = {"small": args.small, "large": args.large}, {}, {}
        conn = await asyncpg.connect(settings.db_url.split("?")[0])
        try:
            t0 = time.perf_counter()
            for name, n in [("other", args.small), *sizes.items()]:
                email = f"owner-{name}@bench.example.com"
                tenant, _ = await create_tenant(f"Bench {name}", Region.IN, email, PASSWORD)
                await copy_tenant(conn, tenant.id, n, args.records, start)
                if name != "other":
                    tokens[name] = (await login(email, PASSWORD, ip="127.0.0.1")).access_token
                    deep = await Customer.filter(tenant_id=tenant.id).order_by("-created_at", "-id").offset(n * 9 // 10).first()
                    rec = await ServiceRecord.filter(tenant_id=tenant.id).order_by("-created_at", "-id").offset(n * 9 // 10).first()
                    asks[name] = questions(n, encode_cursor(deep.created_at, deep.id), encode_cursor(rec.created_at, rec.id),
                                           to_global_id("Customer", deep.id), start)
            seeded = time.perf_counter() - t0
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
        total = 2 * args.small + args.large
        print(f"seeded {total:,} customers, {total * args.records:,} service records by COPY in {seeded:.0f}s; ANALYZEd")

        app = create_app(manage_db=False)
        timings: dict[tuple[str, str], list[float]] = {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120) as client:
            async def ask(size: str, query: str) -> float:
                t = time.perf_counter()
                r = await client.post("/graphql", json={"query": query}, headers={"authorization": f"Bearer {tokens[size]}"})
                elapsed = time.perf_counter() - t
                assert r.status_code == 200 and "errors" not in r.json(), r.text[:500]
                return elapsed

            for question in asks["small"]:
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
    print(f"{'question':<26}{'p50 small':>10}{'p50 large':>10}{'ratio':>7}{'p95 small':>11}{'p95 large':>10}{'ratio':>7}")
    worst = 0.0
    for question in asks["small"]:
        s, big = timings[(question, "small")], timings[(question, "large")]
        r50, r95 = pct(big, 50) / pct(s, 50), pct(big, 95) / pct(s, 95)
        worst = max(worst, r50)
        flag = "" if r50 <= 1.5 else "  > 1.5"
        print(f"{question:<26}{pct(s, 50):>10.1f}{pct(big, 50):>10.1f}{r50:>7.2f}{pct(s, 95):>11.1f}{pct(big, 95):>10.1f}"
              f"{r95:>7.2f}{flag}")
    print(f"worst p50 ratio large/small: {worst:.2f} (ms figures include the in-process HTTP client and the session check)")


def main() -> None:
    args = parse_args()
    where = scratch(args.postgres, args.database_url)
    os.environ.update(SEVA_ENV="development", SEVA_DATA_DIR=where.tmp, SEVA_DATABASE_URL=where.url,
                      SEVA_SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnop", SEVA_ACCESS_TOKEN_MINUTES="600")
    sys.path.insert(0, str(ROOT))
    run_in(where, bench(args, where.label))


if __name__ == "__main__":
    main()
