"""The scheduler: one place lists the periodic jobs, and any number of schedulers enqueue each
job once per interval."""

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from core.hookspecs import hookimpl
from core.jobs import JOBS
from core.plugin_types import PluginManifest, ScheduledJob
from core.plugins import Plugins, set_plugins
from core.schedule import SCHEDULE, Scheduler, scheduled_jobs, window_end


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
    assert [j.name for j in SCHEDULE] == ["outbox.sweep"]
    assert all(j.actor_name in JOBS for j in SCHEDULE)
    plugins(PeriodicPlugin(ScheduledJob("billing.overdue", 3600, "billing.overdue")))
    assert [j.name for j in scheduled_jobs()] == ["outbox.sweep", "billing.overdue"]
    plugins(PeriodicPlugin(ScheduledJob("outbox.sweep", 5, "x")))
    with pytest.raises(ValueError, match="used twice: outbox.sweep"):
        scheduled_jobs()
