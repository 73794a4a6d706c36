"""CSV import speed: rows per second for ``--rows`` customers through ``core.customers.csv_import``
(the code behind the ``customersImport`` mutation and ``seva customers import``), against a floor
measured in the same rounds (alternating which goes first): the same number of prebuilt customer
rows written by the bare bulk insert, with the import's ordered ids, and no checks, tags,
identifiers or change feed. Also how much of the import the phone, email and Aadhaar checks take
(timed alone on the same rows), and, against a PostgreSQL server on this machine, the server's
own CPU per row on each side (its processes' CPU time from /proc): how close the import is to
what the database can take in. As in ``seva serve``, the objects made at start-up are frozen out
of the garbage collector's reach (``gc.freeze``) before the rounds.

Each round imports the same file into a fresh tenant (so no row is a duplicate of an earlier
round's); a few rows per thousand are bad on purpose (a bad phone, a bad email, a repeated
phone), so the error report is exercised as in a real file. Prints min / median / max over the
rounds.

    .venv/bin/python bench/csv_import.py [--rows 100000] [--rounds 3]
    .venv/bin/python bench/csv_import.py --postgres      # throwaway database on 127.0.0.1:5432
"""

from __future__ import annotations

import gc
import os
import time
from itertools import islice
from pathlib import Path

from _common import alternate, bench_parser, database, run, spread, tenant  # bench/_common.py


def parse_args():
    p = bench_parser(__doc__)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3)
    return p.parse_args()


def aadhaar(i: int) -> str:
    """A well-formed Aadhaar number (Verhoeff check digit) for row ``i``, or "" for every other row."""
    from seva_crm.core.customers.identifiers import verhoeff_ok

    if i % 2:
        return ""
    base = f"2{i:010d}"
    return next(base + d for d in "0123456789" if verhoeff_ok(base + d))


def server_cpu() -> float | None:
    """CPU seconds used so far by this machine's PostgreSQL processes, or None where /proc shows none."""
    total, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if fields[0].endswith("(postgres"):
            found = True
            values = fields[1].split()
            total += int(values[11]) + int(values[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK") if found else None


def make_csv(n: int) -> tuple[str, int]:
    """A file of ``n`` rows and how many of them are bad; half the rows carry an Aadhaar number."""
    lines, bad = ["name,phone,email,tags,language,aadhaar"], 0
    for i in range(n):
        phone, email, number = f"98{i:08d}", f"person{i}@example.com", aadhaar(i)
        if i % 1000 == 1:
            phone, bad = "12345", bad + 1
        elif i % 1000 == 2:
            email, bad = "not-an-email", bad + 1
        elif i % 1000 == 3:
            phone, bad = f"98{i - 3:08d}", bad + 1  # the phone of row i - 3, a good row
        elif i % 1000 == 4:
            number, bad = "234123412345", bad + 1  # a wrong check digit
        lines.append(f"Customer {i},{phone},{email},{'vip;gold' if i % 7 == 0 else ''},{'hi' if i % 3 else 'en'},{number}")
    return "\n".join(lines) + "\n", bad


async def bench(args, label: str) -> None:
    from seva_crm.core.common.enums import Region
    from seva_crm.core.common.errors import DomainError
    from seva_crm.core.common.ids import ordered_uuid_texts
    from seva_crm.core.common.principal import TenantScope
    from seva_crm.core.customers import identifiers, import_checks
    from seva_crm.core.common.security import utcnow
    from seva_crm.core.customers.csv_import import CUSTOMER_COLUMNS, import_csv
    from seva_crm.core.models import Customer, CustomerIdentifier
    from seva_crm.core.storage import bulk
    from seva_crm.core.storage.transactions import transaction

    text, bad = make_csv(args.rows)
    good = args.rows - bad
    numbers = [line.rsplit(",", 1)[1] for line in text.splitlines()[1:]]
    rates, floors, ratios, shares = [], [], [], []
    cpu: dict[str, list[float]] = {"import": [], "floor": []}  # the database server's CPU per row (us)
    async with database():
        gc.collect()
        gc.freeze()  # as `seva serve` and the CLI do once started: start-up objects stay out of every collection
        postgres = bulk.is_postgres() and server_cpu() is not None
        for round_ in range(args.rounds):
            target = await tenant("Bench Centre")
            other = await tenant("Floor Centre")

            async def import_side(target=target):
                c0, t0 = server_cpu() if postgres else 0, time.perf_counter()
                done = await import_csv(TenantScope(target.id, target.region), text)
                elapsed = time.perf_counter() - t0
                if postgres:
                    cpu["import"].append((server_cpu() - c0) * 1e6 / args.rows)
                return elapsed, done

            async def floor_side(other=other):
                # built untimed, here: rows kept through the other side would be the collector's work there
                now = utcnow()
                ids = list(islice(ordered_uuid_texts(now), good))  # as text, as the import's
                bare = [(ids[i], other.id, now, now, f"Customer {i}", f"+9198{i:08d}", f"person{i}@example.com", "", None,
                         "", "en", "[]", "", "[]", "cstmr", None) for i in range(good)]
                c0, t0 = server_cpu() if postgres else 0, time.perf_counter()
                async with bulk.large_write(), transaction():  # as the import writes
                    await bulk.insert("customer", CUSTOMER_COLUMNS, bare)
                elapsed = time.perf_counter() - t0
                if postgres:
                    cpu["floor"].append((server_cpu() - c0) * 1e6 / good)
                return elapsed, None

            sides = await alternate(round_, {"import": import_side, "floor": floor_side})
            times = {side: elapsed for side, (elapsed, _) in sides.items()}
            result = sides["import"][1]
            assert result.imported == args.rows - bad, (result.imported, len(result.errors))
            assert len(result.errors) == bad
            kept = sum(1 for i, n in enumerate(numbers) if n and i % 1000 not in (1, 2, 3, 4))  # rows 1-4 of each 1000 are bad
            assert await CustomerIdentifier.filter(tenant_id=target.id).count() == kept
            assert await Customer.filter(tenant_id=other.id).count() == result.imported  # the floor wrote as many customers
            rates.append(args.rows / times["import"])
            floors.append(good / times["floor"])
            ratios.append(times["import"] / times["floor"])
            t0 = time.perf_counter()  # the same rows' phones, emails and identifiers, checked alone as the import does
            for i in range(args.rows):
                try:
                    import_checks.phone(f"98{i:08d}", Region.IN)
                    import_checks.email(f"person{i}@example.com")
                    if numbers[i]:
                        identifiers.check("aadhaar", numbers[i])
                except (DomainError, ValueError):
                    pass
            shares.append((time.perf_counter() - t0) / times["import"])
    print(f"database: {label} | rows: {args.rows:,} ({bad} bad, each reported) | {args.rounds} rounds (min / median / max)")
    print(f"import rows/s:                          {spread(rates, '{:,.0f}')}")
    print(f"floor rows/s (bare customer insert):    {spread(floors, '{:,.0f}')}")
    print(f"import time / floor time:               {spread(ratios, '{:.1f}')}")
    print(f"phone + email + Aadhaar checks' share:  {spread(shares, '{:.0%}')}")
    if cpu["import"]:
        print(f"server CPU per row, import (us):        {spread(cpu['import'], '{:.0f}')}")
        print(f"server CPU per row, floor (us):         {spread(cpu['floor'], '{:.0f}')}")


if __name__ == "__main__":
    run(parse_args(), bench)
