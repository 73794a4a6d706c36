"""Periodic jobs, and the scheduler that enqueues them (``seva scheduler``, or inside
``seva serve`` when jobs are in-process).

Core declares a periodic job where its function lives, with ``@periodic(name, every_seconds)``
(the outbox sweep, billing's renewals and reminders, privacy's deadlines, the retention purge,
...; ``core.runtime`` imports them all); plugins return theirs from ``seva_scheduled_jobs()``.
Any number of schedulers may run at once: time is cut into windows of each job's interval
(aligned to the epoch), and a scheduler enqueues a job only if it moves that job's
``SchedulerLease`` to the end of the current window, a guarded UPDATE (or the first INSERT)
that exactly one scheduler wins. So each job is enqueued once per interval, whoever ticks."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tortoise.exceptions import IntegrityError

from seva_crm.core.common.security import utcnow
from seva_crm.core.jobs import enqueue, job
from seva_crm.core.platform.plugin_types import ScheduledJob
from seva_crm.core.platform.plugins import get_plugins

log = logging.getLogger("seva.schedule")

HOUR, DAY = 3600, 86400
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Periodic:
    job: ScheduledJob
    fn: Callable[..., Awaitable[Any]]
    kwargs: dict[str, Any] = field(default_factory=dict)


PERIODIC: dict[str, Periodic] = {}  # core's periodic jobs by name, in the order they were declared


def periodic(name: str, every_seconds: int, **kwargs: Any):
    """Run ``fn(now, **kwargs)`` every ``every_seconds``: an actor named ``name`` and a scheduled
    job that enqueues it. ``fn`` must be idempotent and safe on several machines at once; it
    returns how much it did for the log: a count, a list of what it did, or counts by kind
    (``{"noticed": 2, "erasing": 1}``, summed). Anything else is
    logged as an error, and the run ends there without raising: its work is done, and a retry
    would only do it again."""

    def declare(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        if name in PERIODIC:
            raise ValueError(f"periodic job {name!r} is declared twice")
        PERIODIC[name] = Periodic(ScheduledJob(name, every_seconds, actor_name=name), fn, kwargs)

        async def run() -> None:
            spec = PERIODIC[name]
            result = await spec.fn(utcnow(), **spec.kwargs)
            count = done_count(result)
            if count is None:
                log.error("periodic job %s returned a %s: a periodic job returns a count, a list of what it did "
                          "or counts by kind",
                          name, type(result).__name__)
                return
            log.info("%s: %d done", name, count)

        run.__name__ = run.__qualname__ = name.replace(".", "_")
        job(name)(run)
        return fn

    return declare


def done_count(result: Any) -> int | None:
    """How much a periodic job did, from what it returned: a count, a list (tuple, set) of what
    it did, or counts by kind (summed); None for anything else (a job's bug, logged by its actor)."""
    def is_count(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if is_count(result):
        return result
    if isinstance(result, list | tuple | set | frozenset):
        return len(result)
    if isinstance(result, dict) and all(is_count(v) for v in result.values()):
        return sum(result.values())
    return None


def scheduled_jobs() -> list[ScheduledJob]:
    """Core's periodic jobs and every plugin's (``Plugins.scheduled_jobs``); a name used twice is an error."""
    found = [p.job for p in PERIODIC.values()] + get_plugins().scheduled_jobs()
    names = [j.name for j in found]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise ValueError(f"scheduled job names used twice: {', '.join(clashes)}")
    bad = [j.name for j in found if j.every_seconds < 1]
    if bad:
        raise ValueError(f"scheduled jobs need every_seconds >= 1: {', '.join(bad)}")
    return found


def window_end(now: datetime, every_seconds: int) -> datetime:
    """The end of the interval window ``now`` falls in."""
    elapsed = (now - EPOCH).total_seconds()
    return EPOCH + timedelta(seconds=(elapsed // every_seconds + 1) * every_seconds)


async def acquire(name: str, every_seconds: int, holder: str, now: datetime) -> bool:
    """Whether ``holder`` won the run of job ``name`` for the window ``now`` is in.

    The lease is taken if it has expired, or if it ends more than one window after the current
    one: no scheduler at the right time could have set that, so a clock was ahead then (or has
    gone back since). Without this, a lease dated in the future would stop the job until real
    time caught up. (A scheduler less than one window ahead of the others cannot cause a
    second run in that window; one further ahead is the clock jump recovered from here.)"""
    from tortoise.expressions import Q

    from seva_crm.core.models import SchedulerLease

    end = window_end(now, every_seconds)
    from_the_future = end + timedelta(seconds=every_seconds)
    won = await SchedulerLease.filter(Q(expires_at__lte=now) | Q(expires_at__gt=from_the_future), name=name) \
        .update(holder=holder, expires_at=end, last_run_at=now)
    if won:
        return True
    if await SchedulerLease.exists(name=name):
        return False
    try:
        await SchedulerLease.create(name=name, holder=holder, expires_at=end, last_run_at=now)
    except IntegrityError:  # another scheduler inserted it first
        return False
    return True


class Scheduler:
    def __init__(self, jobs: list[ScheduledJob] | None = None, *, holder: str | None = None,
                 send: Callable[[str], None] | None = None) -> None:
        self.jobs = scheduled_jobs() if jobs is None else jobs
        self.holder = (holder or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}")[:100]
        self.send = send or enqueue

    async def tick(self, now: datetime | None = None) -> list[str]:
        """Enqueue every job whose window this scheduler wins; returns their names."""
        now = now or utcnow()
        ran = []
        for scheduled in self.jobs:
            try:
                if await acquire(scheduled.name, scheduled.every_seconds, self.holder, now):
                    self.send(scheduled.actor_name)
                    ran.append(scheduled.name)
            except Exception:  # noqa: BLE001 - one job's failure must not stop the others
                log.exception("scheduled job %s could not be enqueued", scheduled.name)
        if ran:
            log.info("scheduler %s enqueued %s", self.holder, ", ".join(ran))
        return ran

    async def run(self, stop: asyncio.Event, tick_seconds: float = 1.0) -> None:
        log.info("scheduler %s started with %d jobs", self.holder, len(self.jobs))
        while not stop.is_set():
            await self.tick()
            try:
                await asyncio.wait_for(stop.wait(), tick_seconds)
            except TimeoutError:
                pass
        log.info("scheduler %s stopped", self.holder)
