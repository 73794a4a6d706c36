"""What does checking the session on every request cost?

Every request reads the state behind its credential (``core.identity.auth.session_principal``:
one query by primary key joining the session, its user and the user's tenant; at most once a
minute per session also an UPDATE of its last use). This compares it with trusting the signed
access token alone (the old behaviour: the principal from the JWT's claims, no query), in
interleaved rounds (with / without, alternating which goes first), and prints min / median / max
over the rounds of the mean time per request:

1. ``authenticate()`` itself, in-process, for an access token and for an API key;
2. one whole GraphQL request over HTTP (uvicorn in this process, httpx client, one at a time):
   ``customers(first: 10)`` by default.

    .venv/bin/python bench/auth_check.py                       # SQLite file in a temp dir
    .venv/bin/python bench/auth_check.py --postgres            # throwaway database on 127.0.0.1:5432
    .venv/bin/python bench/auth_check.py --rounds 21 --calls 500 --requests 200 [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

from scratch import run_in, scratch  # bench/scratch.py: the throwaway database

ROOT = Path(__file__).resolve().parent.parent
QUERY = "{ customers(first: 10) { edges { node { id name phone } } } }"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=15, help="interleaved rounds of each mode")
    p.add_argument("--calls", type=int, default=300, help="authenticate() calls per round and mode")
    p.add_argument("--requests", type=int, default=100, help="HTTP requests per round and mode")
    p.add_argument("--query", default=QUERY, help="the GraphQL request timed over HTTP")
    p.add_argument("--customers", type=int, default=200)
    p.add_argument("--database-url", help="an empty database to use (default: SQLite file in a temp dir)")
    p.add_argument("--postgres", action="store_true", help="create and drop a throwaway database on 127.0.0.1:5432")
    return p.parse_args()


def claims_only():
    """The principal as the token's claims say, with no look-up: what the check is compared with."""
    from seva_crm.core.common.enums import Region, Role
    from seva_crm.core.common.principal import Principal, TenantScope
    from seva_crm.core.common.security import uuid_or_none

    async def principal(claims: dict, ip: str = "") -> Principal:
        tid = uuid_or_none(claims.get("tid"))
        return Principal(user_id=uuid_or_none(claims["sub"]), role=Role(claims["role"]),
                         tenant=TenantScope(tid, Region(claims["reg"])) if tid else None,
                         is_superuser=bool(claims.get("su")), session_id=uuid_or_none(claims.get("sid")))

    return principal


def app_without_limits():
    """The app with its GraphQL schema built without the limit rules and extensions (depth,
    aliases, tokens, cost): what the limits are compared with (the size checks before parsing are
    switched off while it is measured). The parser and validation caches stay, as in the real app."""
    from strawberry import Schema
    from strawberry.extensions import ParserCache, ValidationCache

    from seva_crm.schema import app as app_module
    from seva_crm.schema import build
    from seva_crm.schema.errors import ErrorPolicy
    from seva_crm.schema.request_log import OperationName

    real_build = build._build

    def bare(plugins, limits):
        full = real_build(plugins, limits)
        schema = Schema(query=full.query, mutation=full.mutation, config=full.config, extensions=[
            lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256), ErrorPolicy, OperationName])
        # the query planner validates with the schema's rules: the same, less depth and aliases
        schema.validation_rules = full.validation_rules[2:]
        return schema

    build._build = bare
    try:
        return app_module.create_app(manage_db=False, run_jobs=False)
    finally:
        build._build = real_build


async def interleaved(rounds: int, modes: dict, once) -> dict[str, list[float]]:
    """``once(mode)`` -> seconds per request (mean of a batch), for each mode in each round; the
    order of the modes alternates between rounds."""
    results: dict[str, list[float]] = {name: [] for name in modes}
    names = list(modes)
    await once(names[0])  # warm-up: connections, caches
    await once(names[1])
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            results[name].append(await once(name))
    return results


def report(title: str, results: dict[str, list[float]], unit: float = 1e6, label: str = "us",
           cost: str = "cost of the check") -> None:
    (a, xs), (b, ys) = results.items()
    diffs = [x - y for x, y in zip(xs, ys, strict=True)]
    print(f"\n{title} ({label} per request; {len(xs)} interleaved rounds)")
    print(f"{'':<26}{'min':>10}{'median':>10}{'max':>10}")
    for name, values in ((a, xs), (b, ys), (cost, diffs)):
        print(f"{name:<26}{min(values) * unit:>10.1f}{statistics.median(values) * unit:>10.1f}{max(values) * unit:>10.1f}")


async def bench(args: argparse.Namespace, db_label: str) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from graphql_vs_raw import seed, serve

    from seva_crm.core.common.enums import Role
    from seva_crm.core.identity import auth
    from seva_crm.core.identity.tenants import create_api_key
    from seva_crm.core.platform.database import close_db, init_db, migrate
    from seva_crm.core.common.settings import get_settings
    from seva_crm.schema.app import create_app

    settings = get_settings()
    await migrate(settings)
    await init_db(settings)
    checked, unchecked = auth.session_principal, claims_only()
    servers = []
    try:
        tenant_id, email = await seed(args.customers)
        token = (await auth.login(email, "bench-password-0123456789", ip="127.0.0.1")).access_token
        _, key = await create_api_key(tenant_id, "bench", Role.AGENT)
        bearer, keyed = f"Bearer {token}", f"Bearer {key}"

        def use(name: str) -> None:
            auth.session_principal = checked if name == "with the check" else unchecked

        async def calls(name: str) -> float:
            use(name)
            t0 = time.perf_counter()
            for _ in range(args.calls):
                await auth.authenticate(bearer, ip="127.0.0.1")
            return (time.perf_counter() - t0) / args.calls

        report("authenticate(access token), in-process",
               await interleaved(args.rounds, {"with the check": 1, "token claims only": 0}, calls))

        async def key_calls(_: str) -> float:
            t0 = time.perf_counter()
            for _ in range(args.calls):
                await auth.authenticate(keyed)
            return (time.perf_counter() - t0) / args.calls

        key_times = [await key_calls("") for _ in range(args.rounds)]
        print(f"{'authenticate(API key)':<26}{min(key_times) * 1e6:>10.1f}{statistics.median(key_times) * 1e6:>10.1f}"
              f"{max(key_times) * 1e6:>10.1f}   (one query, as before; now joining the key's creator)")

        servers = [await serve(create_app(manage_db=False, run_jobs=False))]
        url = f"http://127.0.0.1:{servers[0][2]}/graphql"
        async with httpx.AsyncClient(headers={"authorization": bearer}, timeout=30) as client:
            body = (await client.post(url, json={"query": args.query})).json()
            assert "errors" not in body, body

            async def requests(name: str) -> float:
                use(name)
                t0 = time.perf_counter()
                for _ in range(args.requests):
                    r = await client.post(url, json={"query": args.query})
                    assert r.status_code == 200 and b'"errors"' not in r.content, r.text
                return (time.perf_counter() - t0) / args.requests

            http = await interleaved(args.rounds, {"with the check": 1, "token claims only": 0}, requests)
            use("with the check")
            servers.append(await serve(app_without_limits()))
            bare_url = f"http://127.0.0.1:{servers[1][2]}/graphql"

            from seva_crm.schema import app as app_module
            size_checks = app_module.check_request

            async def limited(name: str) -> float:
                target = url if name == "with the limits" else bare_url
                app_module.check_request = size_checks if name == "with the limits" else (lambda *a: None)
                t0 = time.perf_counter()
                for _ in range(args.requests):
                    r = await client.post(target, json={"query": args.query})
                    assert r.status_code == 200 and b'"errors"' not in r.content, r.text
                return (time.perf_counter() - t0) / args.requests

            try:
                limits = await interleaved(args.rounds, {"with the limits": 1, "without": 0}, limited)
            finally:
                app_module.check_request = size_checks
        report(f"one GraphQL request over HTTP: {args.query[:60]}", http)
        report("the same request, with and without the limits (sizes, depth, aliases, tokens, cost)", limits,
               cost="cost of the limits")
        print()
        for what, results in (("the session check", http), ("the limits", limits)):
            (_, xs), (_, ys) = results.items()
            cost = statistics.median([x - y for x, y in zip(xs, ys, strict=True)])
            print(f"median cost of {what}: {cost * 1e6:.0f} us of a {statistics.median(xs) * 1e3:.2f} ms request "
                  f"({cost / statistics.median(xs):.1%})")
        print(f"database: {db_label} | python {sys.version.split()[0]} | "
              f"{os.cpu_count()} CPUs, 1-min load {os.getloadavg()[0]:.1f}")
    finally:
        auth.session_principal = checked
        for task, server, _ in servers:
            server.should_exit = True
            await task
        await close_db()


def main() -> None:
    args = parse_args()
    where = scratch(args.postgres, args.database_url, prefix="seva-bench-auth-")
    os.environ.update(SEVA_ENV="development", SEVA_DATA_DIR=where.tmp, SEVA_DATABASE_URL=where.url, SEVA_GRAPHIQL="false",
                      SEVA_SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnop", SEVA_ACCESS_TOKEN_MINUTES="240",
                      SEVA_PASSWORD_HASH_TIME_COST="1", SEVA_PASSWORD_HASH_MEMORY_KIB="1024", SEVA_PASSWORD_HASH_PARALLELISM="1")
    sys.path.insert(0, str(ROOT))
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    run_in(where, bench(args, where.label))


if __name__ == "__main__":
    main()
