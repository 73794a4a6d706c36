"""``seva worker`` as an operator runs it: separate processes on a Redis or RabbitMQ broker,
sharing the test database, sending to the fake provider; killed without warning mid-run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seva_crm.core import jobs
from seva_crm.core.messaging import outbox
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.common.enums import MessageStatus
from seva_crm.core.models import Customer, Message
from seva_crm.core.storage.transactions import transaction
from tests.cli_support import SevaCli
from tests.jobs_support import BROKER_URLS, REAL_BROKERS, forget_namespace, provider  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 1000
CUSTOMERS = 50


def test_worker_and_scheduler_need_a_broker(tmp_path):
    for command in ("worker", "scheduler"):
        result = SevaCli(tmp_path)(command, check=False)  # in process (tests/cli_support.py)
        assert result.returncode == 1
        assert result.stderr.strip() == ("error: SEVA_BROKER_URL is not set: with in-process jobs, "
                                          "`seva serve` runs the jobs and the schedule itself")


class WorkerProcess:
    def __init__(self, env: dict, log: Path) -> None:
        self.env, self.log, self.proc = env, log, None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "seva_crm", "worker", "--threads", "8", "--plugin", "tests.channel_plugin"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def count_sent(tenant_id) -> int:
    return await Message.filter(tenant_id=tenant_id, status=MessageStatus.SENT).count()


async def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("kind", REAL_BROKERS)
async def test_killed_workers_lose_nothing_and_send_nothing_twice(make_tenant, provider, tmp_path, kind):
    tenant = await make_tenant()
    await Customer.bulk_create([
        Customer(tenant_id=tenant.id, name=f"Customer {i}", phone=f"+9198765{i:05d}") for i in range(CUSTOMERS)
    ])
    customers = await Customer.filter(tenant_id=tenant.id).order_by("phone")

    url = BROKER_URLS[kind]
    broker = jobs.setup_jobs(url)  # the namespace `seva worker` uses; this Redis database (or RabbitMQ) is the tests'
    broker.flush_all()
    env = os.environ | {
        "SEVA_BROKER_URL": url, "SEVA_TEST_PROVIDER_URL": provider.url, "SEVA_TEST_PROVIDER_TOKEN": provider.token,
        "SEVA_OUTBOX_LEASE_SECONDS": "3", "SEVA_OUTBOX_SEND_TIMEOUT_SECONDS": "2", "SEVA_OUTBOX_SWEEP_GRACE_SECONDS": "1",
        "SEVA_OUTBOX_RETRY_BASE_SECONDS": "0.2",
    }
    worker = WorkerProcess(env, tmp_path / "worker.log")
    started = time.monotonic()
    try:
        async with transaction():  # 1,000 rows in one commit; their sends are enqueued after it
            for i in range(MESSAGES):
                await outbox.queue_message(tenant.id, customers[i % CUSTOMERS].id, purpose=Purpose.SERVICE,
                                           template="renewal_due", body=f"Your plan {i} is due for renewal.",
                                           idempotency_key=f"fault-{i}")
        provider.script(customers[0].phone, "unavailable", "rate_limited")  # some retries in the mix too

        worker.start()
        killed_at = []
        progress = {"sent": -1, "since": time.monotonic()}

        async def reached(n: int) -> bool:
            """Whether ``n`` are sent; when nothing moves for 1.5 s, the sweeper is run (as the
            periodic one would): a killed worker's batch jobs are lost with it, their rows stay."""
            sent = await count_sent(tenant.id)
            if sent != progress["sent"]:
                progress.update(sent=sent, since=time.monotonic())
            elif time.monotonic() - progress["since"] > 1.5:
                jobs.enqueue(outbox.SWEEP_JOB)
                progress["since"] = time.monotonic()
            return sent >= n

        for kill_after in (150, 500):
            await wait_for(lambda kill_after=kill_after: reached(kill_after), 60, f"{kill_after} sent")
            worker.kill()  # SIGKILL: no clean-up; jobs it held and sends in flight are abandoned
            killed_at.append(await count_sent(tenant.id))
            worker.start()
        assert all(n < MESSAGES for n in killed_at), f"the kills came too late to matter: {killed_at}"

        last, stalled_since = -1, time.monotonic()
        while (sent := await count_sent(tenant.id)) < MESSAGES:
            assert time.monotonic() - started < 100, f"only {sent} of {MESSAGES} sent"
            if sent != last:
                last, stalled_since = sent, time.monotonic()
            elif time.monotonic() - stalled_since > 1.5:  # the queue is empty: what is left is stuck
                jobs.enqueue(outbox.SWEEP_JOB)
                stalled_since = time.monotonic()
            await asyncio.sleep(0.1)
    finally:
        worker.stop()
        forget_namespace(broker)
        jobs.reset_jobs()

    rows = await Message.filter(tenant_id=tenant.id)
    assert len(rows) == MESSAGES and {r.status for r in rows} == {MessageStatus.SENT}
    keys = {f"fault-{i}" for i in range(MESSAGES)}
    delivered = {key: n for (_, key), n in provider.deliveries.items() if key in keys}
    assert len(delivered) == MESSAGES, "lost messages"
    assert set(delivered.values()) == {1}, "duplicated deliveries"
    accepted = {key: body["id"] for (_, key), body in provider.accepted.items()}
    assert all(r.provider_id == accepted[r.idempotency_key] for r in rows)
    log = (tmp_path / "worker.log").read_text()
    assert "message " in log and customers[0].phone not in log and "Customer 0" not in log  # ids only, no personal data
    print(f"killed at {killed_at} sent; {sum(r.attempts for r in rows)} attempts for {MESSAGES} messages; "
          f"{sum(1 for r in provider.requests if r.replayed)} replays absorbed by the provider; "
          f"{time.monotonic() - started:.1f}s")


