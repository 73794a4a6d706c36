"""Scheduler leases survive the clock jumping, forwards and back: a lease dated in the future (set
while a clock was ahead) must not stop the job until real time catches up."""

import uuid
from datetime import UTC, datetime, timedelta

from seva_crm.core.jobs.schedule import Scheduler, acquire
from seva_crm.core.models import SchedulerLease
from seva_crm.core.platform.plugin_types import ScheduledJob

T0 = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)


def name() -> str:
    return f"clock-{uuid.uuid4().hex[:8]}"


async def test_a_clock_that_was_ahead_does_not_stop_the_job():
    job = name()
    assert await acquire(job, 60, "ahead", T0 + timedelta(days=30))  # a scheduler whose clock ran a month ahead
    # back at the right time: the job runs at once, and once per window again
    assert await acquire(job, 60, "right", T0)
    assert not await acquire(job, 60, "other", T0 + timedelta(seconds=30))
    assert await acquire(job, 60, "other", T0 + timedelta(seconds=60))
    lease = await SchedulerLease.get(name=job)
    assert lease.expires_at == T0 + timedelta(seconds=120) and lease.holder == "other"


async def test_a_clock_jumping_forward_runs_the_job_once_then_follows():
    job = name()
    assert await acquire(job, 3600, "a", T0)
    assert await acquire(job, 3600, "a", T0 + timedelta(days=2))  # the clock jumps two days ahead
    assert not await acquire(job, 3600, "b", T0 + timedelta(days=2, minutes=5))


async def test_small_skew_between_schedulers_runs_nothing_twice():
    """A scheduler whose clock is a few seconds behind the lease's window does not take it again."""
    job = name()
    start = T0 + timedelta(seconds=59)
    assert await acquire(job, 60, "fast", start + timedelta(seconds=2))  # already in the next window
    assert not await acquire(job, 60, "slow", start)  # still in the previous window by its clock


async def test_every_job_resumes_after_the_clock_comes_back():
    tag = uuid.uuid4().hex[:8]
    jobs = [ScheduledJob(f"{tag}.sweep", 60, "outbox.sweep"), ScheduledJob(f"{tag}.daily", 86400, "daily")]
    sent: list[str] = []
    scheduler = Scheduler(jobs, holder="one", send=sent.append)
    await scheduler.tick(T0 + timedelta(days=365))
    assert sent == ["outbox.sweep", "daily"]
    await scheduler.tick(T0)
    assert sent == ["outbox.sweep", "daily"] * 2
