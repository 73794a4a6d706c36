"""Periodic jobs, and the scheduler that enqueues them (``seva scheduler``, or inside
``seva serve`` when jobs are in-process).

The schedule is ``SCHEDULE`` below (core's periodic jobs: the outbox sweep, billing's renewals,
overdue marking, suspensions and reminders, privacy's escalations, breach reminders and export
expiry, and the retention purge; each an actor declared here) plus what plugins return from
``seva_scheduled_jobs()``.
Any number of schedulers may run at once: time is cut into windows of each job's interval
(aligned to the epoch), and a scheduler enqueues a job only if it moves that job's
``SchedulerLease`` to the end of the current window, a guarded UPDATE (or the first INSERT)
that exactly one scheduler wins. So each job is enqueued once per interval, whoever ticks."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from tortoise.exceptions import IntegrityError

from seva_crm.core.jobs import job
from seva_crm.core.platform.plugin_types import ScheduledJob
from seva_crm.core.common.security import utcnow

log = logging.getLogger("seva.schedule")

HOUR, DAY = 3600, 86400

SCHEDULE: list[ScheduledJob] = [
    ScheduledJob("outbox.sweep", every_seconds=60, actor_name="outbox.sweep"),  # re-enqueue stuck messages
    # billing (core.billing.periodic): each idempotent, in the tenant's own calendar
    ScheduledJob("billing.renewals", every_seconds=HOUR, actor_name="billing.renewals"),  # renewal invoices, period roll-over
    ScheduledJob("billing.overdue", every_seconds=HOUR, actor_name="billing.overdue"),  # unpaid after due date: past due
    ScheduledJob("billing.suspensions", every_seconds=HOUR, actor_name="billing.suspensions"),  # past due beyond grace
    ScheduledJob("billing.reminders", every_seconds=HOUR, actor_name="billing.reminders"),  # due-soon and overdue messages
    # privacy
    ScheduledJob("privacy.escalate_overdue", every_seconds=HOUR, actor_name="privacy.escalate_overdue"),  # requests past deadline
    ScheduledJob("privacy.breach_reminders", every_seconds=HOUR, actor_name="privacy.breach_reminders"),  # notifications owed
    ScheduledJob("privacy.expire_exports", every_seconds=HOUR, actor_name="privacy.expire_exports"),  # delete expired exports
    ScheduledJob("retention.purge", every_seconds=DAY, actor_name="retention.purge"),  # closed tenants after their grace
    ScheduledJob("ratelimit.prune", every_seconds=DAY, actor_name="ratelimit.prune"),  # sign-in and endpoint counters
]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# --- the actors the schedule names (core's; plugins declare theirs through seva_actors) --------
# Each runs one function of ``now``; every one is idempotent and safe on several machines.


def _periodic(name: str, module: str, function: str, **kwargs) -> None:
    async def run() -> None:
        import importlib

        fn = getattr(importlib.import_module(module), function)
        result = await fn(utcnow(), **kwargs)
        count = result if isinstance(result, int) else len(result or [])
        log.info("%s: %d done", name, count)

    run.__name__ = run.__qualname__ = name.replace(".", "_")
    PERIODIC[name] = (module, function, kwargs)
    job(name)(run)


PERIODIC: dict[str, tuple[str, str, dict]] = {}
_periodic("billing.renewals", "seva_crm.core.billing.periodic", "run_renewals")
_periodic("billing.overdue", "seva_crm.core.billing.periodic", "mark_overdue")
_periodic("billing.suspensions", "seva_crm.core.billing.periodic", "suspend_after_grace")
_periodic("billing.reminders", "seva_crm.core.billing.periodic", "due_reminders")
_periodic("privacy.escalate_overdue", "seva_crm.core.privacy.requests", "escalate_overdue")
_periodic("privacy.breach_reminders", "seva_crm.core.privacy.breach", "breach_reminders")
_periodic("privacy.expire_exports", "seva_crm.core.privacy.export", "expire_exports")
_periodic("retention.purge", "seva_crm.core.privacy.retention", "purge_terminated_tenants", dry_run=False)
_periodic("ratelimit.prune", "seva_crm.core.common.ratelimit", "prune")


def scheduled_jobs() -> list[ScheduledJob]:
    """Core's schedule and every plugin's; a name used twice is an error."""
    from seva_crm.core.platform.plugins import get_plugins

    found = list(SCHEDULE)
    for jobs in get_plugins().pm.hook.seva_scheduled_jobs():
        found.extend(jobs or [])
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
        from seva_crm.core.jobs import enqueue

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
