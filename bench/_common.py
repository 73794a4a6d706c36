"""What the single-process benchmarks share (invoice_send.py, csv_import.py, conversation_list.py):
the command line's database options, the environment and throwaway database a run works in
(``bench/scratch.py``), the migrated database, a tenant to work in, interleaved rounds
(alternating which side goes first) and the min / median / max line every script prints.

    from _common import bench_parser, database, interleaved, run, spread, tenant

    async def bench(args, label):
        async with database() as settings:
            t = await tenant()
            times = await interleaved(args.rounds, {"with": with_side, "without": without_side})
        print(f"with: {spread(times['with'])}")

    run(bench_parser(__doc__).parse_args(), bench)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from scratch import run_in, scratch  # bench/scratch.py: the throwaway database

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "bench-password-0123456789"
T = TypeVar("T")


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser with the database options every script takes (``--database-url``, ``--postgres``);
    the script adds its own. The description is the docstring's first line."""
    p = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    p.add_argument("--database-url", help="an empty database to use (default: SQLite file in a temp dir)")
    p.add_argument("--postgres", action="store_true", help="create and drop a throwaway database on 127.0.0.1:5432")
    return p


def run(args: argparse.Namespace, bench: Callable[[argparse.Namespace, str], Coroutine[Any, Any, None]],
        **env: str) -> None:
    """Run ``bench(args, label)`` against a throwaway database (or ``--database-url``), with the
    environment Seva needs (development settings, a temp data dir, ``env`` on top), then clean up."""
    where = scratch(args.postgres, args.database_url)
    os.environ.update(SEVA_ENV="development", SEVA_DATA_DIR=where.tmp, SEVA_DATABASE_URL=where.url,
                      SEVA_SECRET_KEY=SECRET_KEY, **env)
    sys.path.insert(0, str(ROOT))
    run_in(where, bench(args, where.label))


@asynccontextmanager
async def database() -> AsyncIterator[Any]:
    """The migrated database, open for the block (closed after it, whatever happens); yields the settings."""
    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.platform.database import close_db, init_db, migrate

    settings = get_settings()
    await migrate(settings)
    await init_db(settings)
    try:
        yield settings
    finally:
        await close_db()


async def tenant(name: str = "Bench Centre", region: Any = None) -> Any:
    """A new tenant (India unless ``region``) with an owner of its own."""
    from seva_crm.core.common.enums import Region
    from seva_crm.core.identity.tenants import create_tenant

    row, _ = await create_tenant(name, region or Region.IN, f"owner-{uuid.uuid4().hex[:8]}@bench.example.com", PASSWORD)
    return row


async def alternate(round_: int, sides: dict[str, Callable[[], Awaitable[T]]]) -> dict[str, T]:
    """One round: each side once, in the given order on even rounds and reversed on odd ones (so
    neither always runs first, on a cache warmed or a machine slowed by the other)."""
    order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
    return {name: await sides[name]() for name in order}


async def interleaved(rounds: int, sides: dict[str, Callable[[], Awaitable[T]]]) -> dict[str, list[T]]:
    """``rounds`` rounds of ``alternate``: each side's results, one per round, in round order."""
    results: dict[str, list[T]] = {name: [] for name in sides}
    for round_ in range(rounds):
        for name, value in (await alternate(round_, sides)).items():
            results[name].append(value)
    return results


def ratios(over: list[float], under: list[float]) -> list[float]:
    """Per round, ``over / under`` (two sides measured in the same round)."""
    return [a / b for a, b in zip(over, under, strict=True)]


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """'min / median / max' of ``values``, each written with ``fmt``."""
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))
