"""The scheduler: core's periodic jobs (declared where their work lives) and plugins', each
enqueued once per interval by any number of schedulers."""

import asyncio
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from seva_crm.core.platform.hookspecs import hookimpl
from seva_crm.core.jobs import JOBS
from seva_crm.core.platform.plugin_types import PluginManifest, ScheduledJob
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.core.jobs.schedule import PERIODIC, Scheduler, periodic, scheduled_jobs, window_end
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
    core = [p.job for p in PERIODIC.values()]
    assert len({j.name for j in core}) == len(core) and all(j.actor_name in JOBS for j in core)
    plugins(PeriodicPlugin(ScheduledJob("isp.sync", 3600, "isp.sync")))
    assert scheduled_jobs() == [*core, ScheduledJob("isp.sync", 3600, "isp.sync")]
    plugins(PeriodicPlugin(ScheduledJob("outbox.sweep", 5, "x")))
    with pytest.raises(ValueError, match="used twice: outbox.sweep"):
        scheduled_jobs()


def test_a_periodic_name_is_declared_once():
    with pytest.raises(ValueError, match="'billing.renewals' is declared twice"):
        periodic("billing.renewals", every_seconds=60)(lambda now: None)


async def run_on_worker(plugins: Plugins, names: list[str], finished, *, threads: int, middleware=None,
                        seconds: float = 10) -> None:
    """Enqueue each job of ``names`` to a real in-process worker with ``plugins``, and wait until
    ``finished()`` (or ``seconds``); the worker, the jobs' broker and the plugins are reset after."""
    from seva_crm.core import jobs

    set_plugins(plugins)
    broker = await asyncio.to_thread(jobs.setup_jobs, "")
    if middleware is not None:
        broker.add_middleware(middleware)
    runner = jobs.Runner(broker, threads=threads).start()
    try:
        for name in names:
            jobs.enqueue(name)
        deadline = asyncio.get_running_loop().time() + seconds
        while not finished() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(runner.stop)
        jobs.reset_jobs()
        set_plugins(None)


async def test_every_periodic_job_runs_its_function_on_the_worker(monkeypatch):
    """Core's periodic work (outbox, billing, privacy, retention, rate limits) is declared where it
    lives; enqueued by name, each actor runs its function with the current time on the worker."""

    assert {"outbox.sweep", "billing.renewals", "billing.overdue", "billing.suspensions", "billing.reminders",
            "privacy.escalate_overdue", "privacy.breach_reminders", "privacy.expire_exports", "retention.purge",
            "ratelimit.prune"} <= set(PERIODIC)
    called: dict[str, tuple] = {}
    for name, spec in PERIODIC.items():
        async def record(now, _name=name, **kwargs):
            called[_name] = (now, kwargs)
            return []

        monkeypatch.setitem(PERIODIC, name, replace(spec, fn=record))  # the actor looks its function up here
    await run_on_worker(Plugins(discover=False), list(PERIODIC), lambda: len(called) == len(PERIODIC), threads=2)
    assert set(called) == set(PERIODIC)
    assert all(abs((now - utcnow()).total_seconds()) < 60 for now, _ in called.values())  # the clock's now
    assert called["retention.purge"][1] == {"dry_run": False}  # the daily purge really purges


async def test_every_scheduled_job_runs_for_real_on_the_worker_and_logs_its_count(tenant, make_tenant, caplog):
    """Every job the scheduler enqueues (core's periodic jobs and the installed plugins'), sent
    as the scheduler sends it and run for real by a worker on the pinned clock: each ends without
    an exception, and each of core's logs how much it did (audit.verify once returned its
    Verification instead, and its log line raised). The every-chain verification it runs covers
    the tenants that exist, not those made after it."""
    import logging

    import dramatiq

    from seva_crm.core.privacy.audit_schedule import last_verification

    class Outcomes(dramatiq.Middleware):
        def __init__(self, names: set[str]) -> None:
            self.names, self.seen = names, {}

        def after_process_message(self, broker, message, *, result=None, exception=None):
            if message.actor_name in self.names:  # not the jobs they enqueue in turn (mail to send)
                self.seen[message.actor_name] = exception

    plugins = Plugins()  # every installed plugin, and its scheduled jobs
    set_plugins(plugins)
    scheduled = scheduled_jobs()
    outcomes = Outcomes({j.actor_name for j in scheduled})
    caplog.set_level(logging.INFO, logger="seva.schedule")
    # what Scheduler.tick sends for each window it wins, one at a time, as if each had its own window
    await run_on_worker(plugins, [j.actor_name for j in scheduled], lambda: len(outcomes.seen) == len(scheduled),
                        threads=1, middleware=outcomes, seconds=120)
    assert sorted(outcomes.seen) == sorted(j.actor_name for j in scheduled)
    assert {name: repr(exc) for name, exc in outcomes.seen.items() if exc is not None} == {}
    lines = [r.getMessage() for r in caplog.records if r.name == "seva.schedule"]
    assert [r.getMessage() for r in caplog.records if r.name == "seva.schedule" and r.levelno >= logging.ERROR] == []
    for name in PERIODIC:
        assert any(line.startswith(f"{name}: ") and line.endswith(" done") for line in lines), name

    assert await last_verification(str(tenant.id)) is not None  # verified with every other chain
    later = await make_tenant()
    assert await last_verification(str(later.id)) is None  # made after that verification: never verified


async def test_a_periodic_job_that_returns_no_count_is_logged_as_an_error_not_raised(monkeypatch, caplog):
    import logging

    from seva_crm.core.platform.audit import Verification

    name = next(iter(PERIODIC))

    async def returns_an_object(now, **kwargs):
        return Verification(chains=3)

    monkeypatch.setitem(PERIODIC, name, replace(PERIODIC[name], fn=returns_an_object))
    await JOBS[name].fn()  # the actor's own function: it returns, so dramatiq has nothing to retry
    [error] = [r for r in caplog.records if r.name == "seva.schedule" and r.levelno == logging.ERROR]
    assert error.getMessage() == (f"periodic job {name} returned a Verification: "
                                  "a periodic job returns a count, a list of what it did or counts by kind")
