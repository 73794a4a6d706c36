"""Background jobs on dramatiq: the broker, the project's actors, and the worker's database.

The broker comes from ``SEVA_BROKER_URL``: ``redis://`` is a RedisBroker, ``amqp://`` a
RabbitmqBroker, and empty means jobs run in-process (a StubBroker consumed by a dramatiq Worker
inside ``seva serve``). Either way the same actors run the same way:

- Actors are ``async def`` and run on dramatiq's own event loop (the AsyncIO middleware), never
  on the web server's. The worker therefore opens its own Tortoise context on that loop
  (``AsyncIOWithDatabase``) and makes it current in every worker thread, so each actor's task uses
  connections bound to dramatiq's loop.
- Core declares its actors with ``@job(name)`` in the module that does the work; plugins declare
  theirs on the broker passed to the ``seva_actors(broker)`` hook. ``setup_jobs`` builds a broker
  and declares both; a ``@job`` imported later is declared on that broker at once. This package
  imports nothing above it: ``core.runtime`` imports every module that declares jobs.
- Retries of sends live in the database (see core.outbox), so core actors are declared with
  dramatiq's own retries off: a lost or failed job is recovered by the outbox sweeper.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO
from tortoise.context import TortoiseContext, _current_context

from seva_crm.core.common.settings import Settings, get_settings
from seva_crm.core.platform.context import tenant_context
from seva_crm.core.platform.plugins import get_plugins
from seva_crm.core.platform.database import tortoise_config
from seva_crm.core.jobs.metrics import JobMetrics

log = logging.getLogger("seva.jobs")

QUEUE = "seva"


@dataclass(frozen=True)
class JobSpec:
    name: str
    fn: Callable[..., Awaitable[Any]]
    options: dict[str, Any] = field(default_factory=dict)


JOBS: dict[str, JobSpec] = {}
_broker: dramatiq.Broker | None = None
_lock = threading.Lock()


def job(name: str, **options: Any) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Register a core actor and declare it on the process's broker, if one is set up (else
    ``setup_jobs`` declares it). Call it through ``enqueue(name, ...)``; arguments must be JSON
    (ids as strings)."""

    def register(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        spec = JOBS[name] = JobSpec(name, fn, {"max_retries": 0, **options})
        with _lock:
            if _broker is not None:
                _declare(spec, _broker)
        return fn

    return register


def _declare(spec: JobSpec, broker: dramatiq.Broker) -> None:
    dramatiq.actor(_with_tenant_context(spec.fn), broker=broker, actor_name=spec.name, queue_name=QUEUE, **spec.options)


def _with_tenant_context(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Each run of a job has its own tenant context (core.platform.context)."""

    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        with tenant_context():
            return await fn(*args, **kwargs)

    return run


class AsyncIOWithDatabase(AsyncIO):
    """dramatiq's AsyncIO middleware (async actors run on its event loop thread), which also
    opens a Tortoise context on that loop when the worker boots, makes it the current context
    in every worker thread (an async actor's task inherits the context of the thread that
    starts it), and closes it, on the same loop, after the worker threads have stopped."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.context: TortoiseContext | None = None

    def before_worker_boot(self, broker, worker) -> None:
        super().before_worker_boot(broker, worker)  # starts the loop
        self.context = get_event_loop_thread().run_coroutine(self._open())

    async def _open(self) -> TortoiseContext:
        context = TortoiseContext()
        with context:  # current while it initialises, or init would touch the process's other context
            await context.init(config=tortoise_config(self.settings.db_url))
        return context

    def after_worker_thread_boot(self, broker, thread) -> None:
        _current_context.set(self.context)

    def after_worker_shutdown(self, broker, worker) -> None:
        if self.context is not None:
            get_event_loop_thread().run_coroutine(self.context.close_connections())
            self.context = None
        super().after_worker_shutdown(broker, worker)  # stops the loop


def make_broker(url: str, settings: Settings, *, namespace: str = "seva") -> dramatiq.Broker:
    """The broker named by ``url`` (empty: in-process), with the project's middleware."""
    if url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        broker: dramatiq.Broker = RedisBroker(url=url, namespace=namespace)
    elif url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    elif not url:
        broker = StubBroker()
    else:
        raise ValueError(f"unknown broker URL scheme: {url.split(':', 1)[0]}")
    broker.add_middleware(AsyncIOWithDatabase(settings))
    broker.add_middleware(JobMetrics())
    return broker


def setup_jobs(url: str | None = None, settings: Settings | None = None, *, namespace: str = "seva") -> dramatiq.Broker:
    """Build the process's broker (``SEVA_BROKER_URL`` unless ``url`` is given), declare core's
    actors registered so far and every plugin's on it, and make it the broker ``enqueue`` uses.
    Import ``core.runtime`` first to have every core actor registered."""
    global _broker
    settings = settings or get_settings()
    broker = make_broker(settings.broker_url if url is None else url, settings, namespace=namespace)
    get_plugins().declare_actors(broker)
    dramatiq.set_broker(broker)
    with _lock:  # held while declaring, so a @job registered meanwhile is declared once, here or there
        for spec in JOBS.values():
            _declare(spec, broker)
        _broker = broker
    return broker


def reset_jobs() -> None:
    """Forget the process's broker (tests; the next ``enqueue`` sets one up from settings)."""
    global _broker
    with _lock:
        _broker = None


def get_broker() -> dramatiq.Broker:
    """The process's broker, set up from settings on first use."""
    with _lock:
        broker = _broker
    return broker if broker is not None else setup_jobs()


def enqueue(name: str, *args: Any, delay_seconds: float | None = None) -> None:
    """Send a job to the broker (after ``delay_seconds``)."""
    actor = get_broker().get_actor(name)
    delay = None if delay_seconds is None else max(0, int(delay_seconds * 1000))
    actor.send_with_options(args=args, delay=delay)


def check_broker(broker: dramatiq.Broker) -> None:
    """Raise unless the broker answers (Redis: PING; RabbitMQ: a connection). Blocking: run it in a thread."""
    if hasattr(broker, "client"):  # Redis
        broker.client.ping()
    elif hasattr(broker, "connection"):  # RabbitMQ: opens this thread's connection if needed
        if not broker.connection.is_open:
            raise ConnectionError("RabbitMQ connection is closed")


def is_in_process(broker: dramatiq.Broker) -> bool:
    return isinstance(broker, StubBroker)


class Runner:
    """A dramatiq Worker in this process: ``seva worker`` runs one in the foreground, and
    ``seva serve`` runs one beside the web app when jobs are in-process."""

    def __init__(self, broker: dramatiq.Broker, *, threads: int = 8, timeout_ms: int = 100) -> None:
        self.broker = broker
        self.worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=timeout_ms)  # every declared queue

    def start(self) -> Runner:
        self.worker.start()
        return self

    def stop(self, timeout_ms: int = 10_000) -> None:
        self.worker.stop(timeout=timeout_ms)
