"""Public privacy filing: how long the answer takes for a known subject (a request is filed and
its code queued) against an unknown one (nothing is), interleaved, through the real app's
``POST /privacy/requests`` in process. With the floor (``SEVA_PRIVACY_PUBLIC_MIN_SECONDS``,
default 0.25 s) the two should match; ``--floor 0`` shows the gap the floor hides.

Checks that both sides get the same answer (keys, message, reference length) and that every
known filing filed a request and no unknown one did. Prints per side the milliseconds (min /
median / max over the rounds) and known/unknown per round. (tests/test_privacy_public.py checks
the same property without timing: both answers pass through the same floor.)

    .venv/bin/python bench/privacy_public_timing.py [--rounds 21] [--floor 0.25] [--postgres | --database-url URL]
"""

from __future__ import annotations

import time

from _common import bench_parser, database, interleaved, ratios, run, spread, tenant  # bench/_common.py


def parse_args():
    p = bench_parser(__doc__)
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--floor", type=float, default=None, help="seconds (default: the setting's default)")
    return p.parse_args()


async def bench(args, label: str) -> None:
    import httpx

    from seva_crm.core.common.ids import to_global_id
    from seva_crm.core.common.principal import TenantScope
    from seva_crm.core.customers.customers import create_customer
    from seva_crm.core.models import PrivacyRequest
    from seva_crm.core.privacy.profile import update_profile
    from seva_crm.schema.app import create_app

    async with database() as settings:
        row = await tenant()
        scope = TenantScope(row.id, row.region)
        await update_profile(scope, {"contact_name": "Grievance Officer", "contact_phone": "+919876500000"})
        await create_customer(scope, {"name": "Known Person", "phone": "9876500611"})
        transport = httpx.ASGITransport(app=create_app(manage_db=False), client=("198.51.100.61", 1234))
        answers: dict[str, set] = {"known": set(), "unknown": set()}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            def side(who: str, phone: str):
                async def file() -> float:
                    started = time.perf_counter()
                    response = await client.post("/privacy/requests", json={
                        "tenant": to_global_id("Tenant", row.id), "phone": phone, "type": "access"})
                    took = time.perf_counter() - started
                    body = response.json()
                    answers[who].add((response.status_code, tuple(sorted(body)), body.get("message"),
                                      len(body.get("reference", ""))))
                    return took
                return file

            times = await interleaved(args.rounds, {"known": side("known", "98765 00611"),
                                                     "unknown": side("unknown", "98765 00699")})
        filed = await PrivacyRequest.filter(tenant_id=row.id).count()
    assert answers["known"] == answers["unknown"] and len(answers["known"]) == 1, answers
    assert filed == args.rounds, f"{filed} requests filed for {args.rounds} known filings"
    print(f"{label}, floor {settings.privacy_public_min_seconds} s, {args.rounds} rounds, ms min / median / max:")
    for who in times:
        print(f"  {who:8} {spread([t * 1000 for t in times[who]], '{:.1f}')}")
    print(f"  known/unknown per round {spread(ratios(times['known'], times['unknown']))}")


if __name__ == "__main__":
    arguments = parse_args()
    env = {"SEVA_PRIVACY_MAX_PER_IP": "100000", "SEVA_PRIVACY_MAX_PER_IDENTIFIER": "100000",
           "SEVA_PASSWORD_HASH_TIME_COST": "1", "SEVA_PASSWORD_HASH_MEMORY_KIB": "1024"}
    if arguments.floor is not None:
        env["SEVA_PRIVACY_PUBLIC_MIN_SECONDS"] = str(arguments.floor)
    run(arguments, bench, **env)
