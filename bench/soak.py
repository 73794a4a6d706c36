"""Does `seva serve` hold its memory under a long mixed load?

Starts `seva serve` (one worker, jobs in-process) on a free loopback port over a throwaway
database (SQLite file by default, or PostgreSQL), creates a tenant with `seva tenant create`, signs
in over GraphQL, then runs ``--concurrency`` clients for ``--minutes`` (10 by default), each
looping over a mix of reads and writes: the customer list with nested service records, one
customer, a search, a customer created, a service record created, a customer updated. The
server's resident memory (RSS, from /proc) is sampled every ``--every`` seconds. It prints the
samples, then RSS at start, once warmed (after ``--warmup`` minutes), and at the end, and the
growth after warm-up (the target is under 5%).

    .venv/bin/python bench/soak.py [--minutes 10] [--warmup 2] [--concurrency 8] [--postgres | --database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from scratch import run_in, scratch  # bench/scratch.py: the throwaway database

ROOT = Path(__file__).resolve().parent.parent
SEVA = Path(sys.executable).with_name("seva")
PASSWORD = "bench-password-0123456789"
EMAIL = "owner@soak.example.com"
LIST = "{ customers(first: 50) { edges { node { id name phone serviceRecords(first: 5) { edges { node { id status } } } } } } }"
ONE = "query($id: ID!) { customer(id: $id) { id name email tags } }"
SEARCH = '{ customers(first: 20, filter: {search: "Soak 1"}) { edges { node { id } } } }'
CREATE = "mutation($input: CustomerCreateInput!) { customerCreate(input: $input) { customer { id } errors { code } } }"
RECORD = ("mutation($input: ServiceRecordCreateInput!) { serviceRecordCreate(input: $input) "
          "{ serviceRecord { id } errors { code } } }")
UPDATE = ("mutation($id: ID!, $input: CustomerUpdateInput!) { customerUpdate(id: $id, input: $input) "
          "{ customer { id } errors { code } } }")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0, help="minutes before the 'warmed' sample")
    p.add_argument("--every", type=float, default=10.0, help="seconds between RSS samples")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--database-url", help="an empty database to use (default: SQLite file in a temp dir)")
    p.add_argument("--postgres", action="store_true", help="create and drop a throwaway database on 127.0.0.1:5432")
    return p.parse_args()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def soak(args, label: str) -> None:
    env = dict(os.environ)
    subprocess.run([str(SEVA), "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([str(SEVA), "tenant", "create", "--name", "Soak Centre", "--region", "IN", "--owner-email", EMAIL,
                    "--owner-password", PASSWORD], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([str(SEVA), "serve", "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            for _ in range(300):
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            login = await client.post(url, json={"query": 'mutation { login(email: "%s", password: "%s") '
                                                           '{ accessToken errors { code } } }' % (EMAIL, PASSWORD)})
            token = login.json()["data"]["login"]["accessToken"]
            client.headers["authorization"] = f"Bearer {token}"
            counter, done, errors = itertools.count(), {"n": 0}, {"n": 0}

            async def call(query: str, **variables) -> dict:
                r = await client.post(url, json={"query": query, "variables": variables})
                body = r.json()
                if r.status_code != 200 or body.get("errors"):
                    errors["n"] += 1
                done["n"] += 1
                return body.get("data") or {}

            async def worker(until: float) -> None:
                while time.monotonic() < until:
                    i = next(counter)
                    made = await call(CREATE, input={"name": f"Soak {i}", "phone": f"+9196{i:08d}",
                                                     "email": f"soak{i}@example.com", "tags": ["soak"]})
                    cid = ((made.get("customerCreate") or {}).get("customer") or {}).get("id")
                    if cid:
                        await call(RECORD, input={"customerId": cid, "serviceName": "PAN card", "feeAmount": 5000})
                        await call(UPDATE, id=cid, input={"notes": f"visit {i}"})
                        await call(ONE, id=cid)
                    await call(LIST)
                    await call(SEARCH)

            start = time.monotonic()
            until = start + args.minutes * 60
            workers = [asyncio.create_task(worker(until)) for _ in range(args.concurrency)]
            samples = []
            while time.monotonic() < until:
                samples.append((time.monotonic() - start, rss_mib(server.pid), done["n"]))
                print(f"  {samples[-1][0]:6.0f}s  RSS {samples[-1][1]:7.1f} MiB  requests {samples[-1][2]:>8}", flush=True)
                await asyncio.sleep(min(args.every, max(0.0, until - time.monotonic())))
            await asyncio.gather(*workers)
            samples.append((time.monotonic() - start, rss_mib(server.pid), done["n"]))
    finally:
        server.terminate()
        server.wait(timeout=30)
    first = samples[0][1]
    warmed = next((rss for t, rss, _ in samples if t >= args.warmup * 60), samples[-1][1])
    end = samples[-1][1]
    print(f"database: {label} | {args.minutes:g} min, {args.concurrency} clients, {done['n']:,} requests "
          f"({errors['n']} with errors) | seva serve, 1 worker")
    print(f"RSS MiB: start {first:.1f}, warmed ({args.warmup:g} min) {warmed:.1f}, end {end:.1f}; "
          f"growth after warm-up {(end - warmed) / warmed:+.1%} (target: under 5%)")


def main() -> None:
    args = parse_args()
    where = scratch(args.postgres, args.database_url)
    os.environ.update(SEVA_ENV="development", SEVA_DATA_DIR=where.tmp, SEVA_DATABASE_URL=where.url, SEVA_BROKER_URL="",
                      SEVA_SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnop", SEVA_ACCESS_TOKEN_MINUTES="600")
    run_in(where, soak(args, where.label))


if __name__ == "__main__":
    main()
