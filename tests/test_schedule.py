"""The scheduler: one place lists the periodic jobs, and any number of schedulers enqueue each
job once per interval."""

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from seva_crm.core.platform.hookspecs import hookimpl
from seva_crm.core.jobs import JOBS
from seva_crm.core.platform.plugin_types import PluginManifest, ScheduledJob
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.core.jobs.schedule import SCHEDULE, Scheduler, scheduled_jobs, window_end
from seva_crm.core.common.security import utcnow


class PeriodicPlugin:
    def __init__(self, *jobs: ScheduledJob) -> None:
        self.jobs = list(jobs)

    @hookimpl
    def seva_manifest(self):
        return PluginManifest(id="periodic", name="Periodic", version="0")

    @hookimpl
    def seva_scheduled_jobs(self):
        return self.jobs


@pytest.fixture
def plugins():
    def use(*plugins):
        set_plugins(Plugins(discover=False, extra=plugins))

    yield use
    set_plugins(None)


async def test_two_schedulers_enqueue_each_job_once_per_interval():
    tag = uuid.uuid4().hex[:8]
    jobs = [ScheduledJob(f"{tag}.every10", 10, "a"), ScheduledJob(f"{tag}.every30", 30, "b")]
    sent: list[str] = []
    one, two = Scheduler(jobs, holder="one", send=sent.append), Scheduler(jobs, holder="two", send=sent.append)
    start = datetime(2031, 1, 1, tzinfo=timezone.utc)
    for half_seconds in range(240):  # two minutes, both ticking every half second at the same moment
        now = start + timedelta(seconds=half_seconds / 2)
        await asyncio.gather(one.tick(now), two.tick(now))
    assert sent.count("a") == 12 and sent.count("b") == 4


def test_windows_are_aligned_to_the_interval():
    at = datetime(2031, 1, 1, 0, 0, 7, tzinfo=timezone.utc)
    assert window_end(at, 10) == datetime(2031, 1, 1, 0, 0, 10, tzinfo=timezone.utc)
    assert window_end(at.replace(second=10), 10) == datetime(2031, 1, 1, 0, 0, 20, tzinfo=timezone.utc)


def test_the_schedule_is_cores_plus_plugins_and_names_are_unique(plugins):
    core = [j.name for j in SCHEDULE]
    assert core[0] == "outbox.sweep" and len(core) == len(set(core))
    assert all(j.actor_name in JOBS for j in SCHEDULE)
    plugins(PeriodicPlugin(ScheduledJob("isp.sync", 3600, "isp.sync")))
    assert [j.name for j in scheduled_jobs()] == [*core, "isp.sync"]
    plugins(PeriodicPlugin(ScheduledJob("outbox.sweep", 5, "x")))
    with pytest.raises(ValueError, match="used twice: outbox.sweep"):
        scheduled_jobs()


async def test_every_scheduled_job_has_an_actor_that_runs_its_function(monkeypatch):
    """The schedule names billing's, privacy's and retention's periodic work: each actor exists on
    the broker and, run by the in-process runner, calls its function with the current time."""
    import importlib

    from seva_crm.core import jobs
    from seva_crm.core.jobs.schedule import PERIODIC

    names = {j.name for j in SCHEDULE}
    assert {"billing.renewals", "billing.overdue", "billing.suspensions", "billing.reminders",
            "privacy.escalate_overdue", "privacy.breach_reminders", "privacy.expire_exports", "retention.purge"} <= names
    called: dict[str, tuple] = {}
    for name, (module, function, _) in PERIODIC.items():
        async def record(now, _name=name, **kwargs):
            called[_name] = (now, kwargs)
            return []

        monkeypatch.setattr(importlib.import_module(module), function, record)
    set_plugins(Plugins(discover=False))
    broker = await asyncio.to_thread(jobs.setup_jobs, "")
    runner = jobs.Runner(broker, threads=2).start()
    try:
        for job in SCHEDULE:
            assert broker.get_actor(job.actor_name)  # raises ActorNotFound if the schedule names no actor
        for name in PERIODIC:
            jobs.enqueue(name)
        for _ in range(200):
            if len(called) == len(PERIODIC):
                break
            await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(runner.stop)
        jobs.reset_jobs()
        set_plugins(None)
    assert set(called) == set(PERIODIC) == names - {"outbox.sweep"}
    assert all(abs((now - utcnow()).total_seconds()) < 60 for now, _ in called.values())  # the clock's now
    assert called["retention.purge"][1] == {"dry_run": False}  # the daily purge really purges
