"""GraphQL vs raw Starlette: what does the GraphQL layer cost on the customer list?

One run seeds a throwaway database (SQLite file by default, or PostgreSQL), runs ANALYZE so the
planner has statistics, and serves three endpoints from this process with uvicorn on 127.0.0.1
(one worker, one event loop):

* ``/graphql`` - the real app (``schema.app.create_app(manage_db=False)``), asked for
  ``customers(first: 50)`` with each customer's ``serviceRecords(first: 5)``;
* ``/raw``     - a plain Starlette endpoint doing the same work by hand: the same token check,
  the same SQL (checked: every statement each side runs is captured from Tortoise's query log and
  compared, text and parameters), the same JSON (checked equal);
* ``/const``   - the same JSON body, precomputed: the load generator's own ceiling.

The endpoints are then loaded in interleaved rounds (``--rounds``, alternating which goes first,
``--seconds`` each) by an httpx client in a separate process, so drift on a shared machine hits
both sides alike. It prints, per endpoint, min / median / max over the rounds of requests/s, the
p50 latency and the server CPU per request, the GraphQL/raw ratio of each round, and how many SQL
statements one GraphQL request makes at page sizes 10 and 100 (it should not grow with the page).

    .venv/bin/python bench/graphql_vs_raw.py [--customers 10000] [--rounds 3] [--seconds 3] [--concurrency 32]
    .venv/bin/python bench/graphql_vs_raw.py --postgres      # throwaway database on 127.0.0.1:5432
    .venv/bin/python bench/graphql_vs_raw.py --database-url postgres://postgres@127.0.0.1:5432/db
    SEVA_GRAPHQL_PLAN=off .venv/bin/python bench/graphql_vs_raw.py   # the standard execution (graphql-core)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import random
import socket
import statistics
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from scratch import run_in, scratch  # bench/scratch.py: the throwaway database

ROOT = Path(__file__).resolve().parent.parent
QUERY = """{ customers(first: %d) { edges { node { id name phone email createdAt
  serviceRecords(first: 5) { edges { node { id serviceName status fee { amount currency } } } } } } } }"""
PAGE, NESTED = 50, 5
PASSWORD = "bench-password-0123456789"
MAX_REQUESTS = 500_000  # per load run: a hard cap besides the time limit


# --- load generator: runs in a child process, so it does not share the server's core -------

def run_load(url: str, body: dict | None, token: str, concurrency: int, seconds: float, warmup: float) -> dict:
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_load(url, body, token, concurrency, seconds, warmup))


async def _load(url, body, token, concurrency, seconds, warmup) -> dict:
    assert url.startswith("http://127.0.0.1:"), url  # loopback only
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=10) as client:
        async def hammer(until: float, latencies: list[float] | None, errors: list[int]) -> None:
            while time.perf_counter() < until and (latencies is None or len(latencies) < MAX_REQUESTS):
                t0 = time.perf_counter()
                r = await (client.post(url, json=body) if body else client.get(url))
                if r.status_code != 200 or b'"errors"' in r.content:
                    errors.append(r.status_code)
                if latencies is not None:
                    latencies.append(time.perf_counter() - t0)

        errors: list[int] = []
        await asyncio.gather(*(hammer(time.perf_counter() + warmup, None, errors) for _ in range(concurrency)))
        latencies: list[float] = []
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(hammer(t0 + seconds, latencies, errors) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    q = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50": q[49] * 1000, "p99": q[98] * 1000,
            "errors": len(errors), "client_cpu": cpu / elapsed}


# --- set-up -------------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--customers", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (each endpoint once per round)")
    p.add_argument("--seconds", type=float, default=3.0, help="measured load per endpoint and round")
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--database-url", help="an empty database to use (default: SQLite file in a temp dir)")
    p.add_argument("--postgres", action="store_true", help="create and drop a throwaway database on 127.0.0.1:5432")
    return p.parse_args()


async def seed(n: int) -> tuple[uuid.UUID, str]:
    """A tenant with ``n`` customers, each with 1-3 service records; returns (tenant id, owner email)."""
    from tortoise.transactions import in_transaction

    from seva_crm.core.common.enums import Currency, Region, ServiceStatus
    from seva_crm.core.models import Customer, ServiceRecord
    from seva_crm.core.identity.tenants import create_tenant

    email = "owner@bench.example.com"
    tenant, _ = await create_tenant("Bench Centre", Region.IN, email, PASSWORD)
    rng, now = random.Random(42), datetime.now(timezone.utc)
    statuses = list(ServiceStatus)
    for start in range(0, n, 2000):
        customers, records = [], []
        for i in range(start, min(n, start + 2000)):
            created = now - timedelta(minutes=i)
            c = Customer(tenant_id=tenant.id, name=f"Customer {i:06d}", phone=f"+9198{i:08d}",
                         email=f"c{i}@example.com" if i % 3 else None, created_at=created)
            customers.append(c)
            records += [ServiceRecord(tenant_id=tenant.id, customer_id=c.id, service_name=f"Service {j}",
                                      fee_amount=rng.randrange(0, 100_000), currency=Currency.INR,
                                      status=rng.choice(statuses), created_at=created + timedelta(seconds=j + 1))
                        for j in range(rng.randint(1, 3))]
        async with in_transaction():
            await Customer.bulk_create(customers, batch_size=500)
            await ServiceRecord.bulk_create(records, batch_size=500)
    return tenant.id, email


def raw_app(constant: bytes | None = None):
    """The hand-written twin of the GraphQL query: same auth, same SQL, same JSON. With
    ``constant``, the same body precomputed (no auth, no SQL): the load generator's ceiling."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from seva_crm.core.identity.auth import authenticate
    from seva_crm.core.common.ids import to_global_id
    from seva_crm.core.customers.service_records import latest_for_customers
    from seva_crm.core.models import Customer

    async def customers(request) -> JSONResponse:
        principal = await authenticate(request.headers.get("authorization"))
        tid = principal.tenant.id
        # as core.common.paging.paginate: one row more than the page, to know if there is a next page
        rows = await Customer.filter(tenant_id=tid, deleted_at__isnull=True).order_by("-created_at", "-id").limit(PAGE + 1)
        rows = rows[:PAGE]
        # as schema.loaders: each customer's newest NESTED + 1 records (one more: is there a next page)
        grouped = await latest_for_customers(tid, [c.id for c in rows], NESTED + 1)
        edges = [{"node": {
            "id": to_global_id("Customer", c.id), "name": c.name, "phone": c.phone, "email": c.email,
            "createdAt": c.created_at.isoformat(),
            "serviceRecords": {"edges": [{"node": {
                "id": to_global_id("ServiceRecord", r.id), "serviceName": r.service_name, "status": r.status.name,
                "fee": {"amount": r.fee_amount, "currency": r.currency.name},
            }} for r in grouped[c.id][:NESTED]]},
        }} for c in rows]
        return JSONResponse({"customers": {"edges": edges}})

    async def const(request) -> Response:
        return Response(constant, media_type="application/json")

    return Starlette(routes=[Route("/raw", customers), Route("/const", const)])


async def serve(app) -> tuple[asyncio.Task, object, int]:
    """Start uvicorn for ``app`` on a free loopback port in this event loop."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    return task, server, sock.getsockname()[1]


class SqlLog(logging.Handler):
    """Collects the SQL statements (text and parameters) Tortoise logs on tortoise.db_client."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage())

    def __enter__(self) -> SqlLog:
        self.logger = logging.getLogger("tortoise.db_client")
        self.level = self.logger.level
        self.logger.setLevel(logging.DEBUG)  # setLevel, not `.level =`: it clears the isEnabledFor cache
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level)


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """min / median / max."""
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


# --- the run ------------------------------------------------------------------------------

async def bench(args: argparse.Namespace, db_label: str) -> None:
    from seva_crm.core.identity.auth import login
    from seva_crm.core.platform.database import close_db, init_db, migrate
    from seva_crm.core.common.settings import get_settings
    from seva_crm.schema.app import create_app

    settings = get_settings()
    await migrate(settings)
    await init_db(settings)
    servers = []
    try:  # always close the ORM: a live aiosqlite thread would keep the process from exiting
        t0 = time.perf_counter()
        _, email = await seed(args.customers)
        print(f"seeded {args.customers} customers in {time.perf_counter() - t0:.1f}s")
        from tortoise import connections
        await connections.get("default").execute_script("ANALYZE")  # planner statistics, as a live database has
        token = (await login(email, PASSWORD, ip="127.0.0.1")).access_token

        servers = [await serve(create_app(manage_db=False)), await serve(raw_app())]
        gql_url = f"http://127.0.0.1:{servers[0][2]}/graphql"
        raw_url = f"http://127.0.0.1:{servers[1][2]}/raw"
        gql_body = {"query": QUERY % PAGE}
        async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
            # twice: with SEVA_GRAPHQL_PLAN=auto the first request runs the standard execution and
            # the second (as every timed one) the query plan (schema/plan.py); both are checked
            for attempt in ("1st", "2nd"):
                with SqlLog() as gql_sql:
                    g = (await client.post(gql_url, json=gql_body)).json()
                with SqlLog() as raw_sql:
                    r = (await client.get(raw_url)).json()
                assert "errors" not in g, g["errors"]
                assert len(g["data"]["customers"]["edges"]) == PAGE, "seed too small for one page"
                assert g["data"] == r, "GraphQL and raw bodies differ: the comparison would not be fair"
                if gql_sql.statements != raw_sql.statements:
                    print("GraphQL SQL:", *gql_sql.statements, sep="\n  ")
                    print("raw SQL:", *raw_sql.statements, sep="\n  ")
                    raise SystemExit("GraphQL and raw run different SQL: the comparison would not be fair")
                print(f"{attempt} request: bodies equal: GraphQL data == raw JSON ({len(r['customers']['edges'])} "
                      f"customers with their records); SQL equal: both sides ran the same {raw_sql.count} statements")

            counts = {}
            for size in (10, 100):
                with SqlLog() as qc:
                    body = (await client.post(gql_url, json={"query": QUERY % size})).json()
                assert "errors" not in body, body
                counts[size] = qc.count
        constant = json.dumps(r).encode()
        servers.append(await serve(raw_app(constant)))
        const_url = f"http://127.0.0.1:{servers[2][2]}/const"

        endpoints = {"graphql": (gql_url, gql_body), "raw": (raw_url, None), "const": (const_url, None)}
        results: dict[str, list[dict]] = {name: [] for name in endpoints}
        load_avg = os.getloadavg()[0]  # other work on the host skews absolute figures
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            loop = asyncio.get_running_loop()
            for round_ in range(args.rounds):
                names = list(endpoints) if round_ % 2 == 0 else list(reversed(endpoints))
                for name in names:
                    url, body = endpoints[name]
                    cpu0, w0 = time.process_time(), time.perf_counter()
                    x = await loop.run_in_executor(
                        pool, run_load, url, body, token, args.concurrency, args.seconds, args.warmup)
                    # server CPU over warm-up + run (the client is a separate process), per measured request
                    # (warm-up requests are not counted, so this slightly overstates it)
                    x["server_cpu"] = (time.process_time() - cpu0) / (time.perf_counter() - w0)
                    x["cpu_ms"] = x["server_cpu"] * 1000 / x["rps"]
                    results[name].append(x)
    finally:
        for task, server, _ in servers:
            server.should_exit = True
            await task
        await close_db()

    print()
    print(f"database: {db_label} (ANALYZEd) | customers: {args.customers} | concurrency: {args.concurrency} | "
          f"{args.rounds} interleaved rounds of {args.seconds:g}s per endpoint after {args.warmup:g}s warm-up")
    print(f"GraphQL executor: SEVA_GRAPHQL_PLAN={os.environ.get('SEVA_GRAPHQL_PLAN', 'auto')} (query plans; off: graphql-core)")
    print(f"host: {os.cpu_count()} CPUs, 1-min load {load_avg:.1f} before the runs | python {sys.version.split()[0]}")
    print("server: uvicorn, 1 worker, this process; load: httpx in a separate process on the same host "
          "(client and server share the machine's CPUs); figures are min / median / max over the rounds")
    print(f"{'endpoint':<9}{'req/s':>26}{'p50 ms':>26}{'srv CPU ms/req':>26}{'errors':>8}")
    for name, xs in results.items():
        print(f"{name:<9}{spread([x['rps'] for x in xs]):>26}{spread([x['p50'] for x in xs]):>26}"
              f"{spread([x['cpu_ms'] for x in xs], '{:.2f}'):>26}{sum(x['errors'] for x in xs):>8}")
    ratios = [g["rps"] / r["rps"] for g, r in zip(results["graphql"], results["raw"], strict=True)]
    cpu = [g["cpu_ms"] / r["cpu_ms"] for g, r in zip(results["graphql"], results["raw"], strict=True)]
    ceiling = [r["rps"] / c["rps"] for r, c in zip(results["raw"], results["const"], strict=True)]
    print(f"GraphQL/raw throughput ratio per round: {spread(ratios, '{:.2f}')}  (min / median / max)")
    print(f"GraphQL/raw server CPU per request:     {spread(cpu, '{:.2f}')}")
    print(f"raw/const (how close raw is to the load generator's ceiling): {spread(ceiling, '{:.2f}')}")
    same = "equal" if counts[10] == counts[100] else "NOT equal (grows with page size: N+1?)"
    print(f"SQL statements per GraphQL request: first:10 -> {counts[10]}, first:100 -> {counts[100]} ({same})")


def main() -> None:
    args = parse_args()
    where = scratch(args.postgres, args.database_url)
    # configuration comes from the environment, read on first use: set it before importing the project
    os.environ.update(SEVA_ENV="development", SEVA_DATA_DIR=where.tmp, SEVA_DATABASE_URL=where.url, SEVA_GRAPHIQL="false",
                      SEVA_SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnop", SEVA_ACCESS_TOKEN_MINUTES="240")
    sys.path.insert(0, str(ROOT))
    try:
        import uvloop
        uvloop.install()  # what `uvicorn` itself uses when uvloop is installed
    except ImportError:
        pass
    run_in(where, bench(args, where.label))


if __name__ == "__main__":
    main()
