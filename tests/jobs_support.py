"""Fixtures for job tests: the same tests run against the in-process runner and, when
SEVA_TEST_REDIS_URL or SEVA_TEST_AMQP_URL is set, against a real Redis or RabbitMQ broker (with a
dramatiq Worker in this process consuming it, on its own threads, event loop and Tortoise context).
RabbitMQ has no namespaces: give the tests a virtual host of their own (or a RabbitMQ nobody else
uses while they run); its queues are purged before and after each test."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass
from uuid import UUID

import pytest

from seva_crm.core import jobs
from seva_crm.core.common.enums import MessageStatus
from seva_crm.core.models import Message
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.core.common.settings import get_settings
from tests.channel_plugin import ChannelPlugin, http_channels
from tests.fake_provider import FakeProvider

REDIS_URL = os.environ.get("SEVA_TEST_REDIS_URL", "")
AMQP_URL = os.environ.get("SEVA_TEST_AMQP_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="SEVA_TEST_REDIS_URL is not set")
needs_amqp = pytest.mark.skipif(not AMQP_URL, reason="SEVA_TEST_AMQP_URL is not set")
BROKERS = ["in-process", pytest.param("redis", marks=needs_redis), pytest.param("rabbitmq", marks=needs_amqp)]
BROKER_URLS = {"in-process": "", "redis": REDIS_URL, "rabbitmq": AMQP_URL}
REAL_BROKERS = [pytest.param("redis", marks=needs_redis), pytest.param("rabbitmq", marks=needs_amqp)]
DONE = (MessageStatus.SENT, MessageStatus.FAILED)


@pytest.fixture
def provider():
    fake = FakeProvider().start()
    yield fake
    fake.stop()


@pytest.fixture
def fast_outbox(monkeypatch):
    """Retries in tenths of a second rather than minutes."""
    settings = get_settings()
    for name, value in {"outbox_retry_base_seconds": 0.1, "outbox_retry_max_seconds": 1.0, "outbox_lease_seconds": 5.0,
                        "outbox_send_timeout_seconds": 2.0, "outbox_sweep_grace_seconds": 0.0,
                        "outbox_max_attempts": 4}.items():
        monkeypatch.setattr(settings, name, value)
    return settings


@dataclass
class Jobs:
    kind: str
    broker: object
    plugin: ChannelPlugin


def start_jobs(kind: str, plugin) -> tuple[object, jobs.Runner]:
    set_plugins(Plugins(discover=False, extra=(plugin,)))
    broker = jobs.setup_jobs(BROKER_URLS[kind], namespace=f"seva-test-{uuid.uuid4().hex[:8]}")
    if kind != "in-process":
        broker.flush_all()
    return broker, jobs.Runner(broker, threads=4).start()


def stop_jobs(broker, runner: jobs.Runner) -> None:
    runner.stop()
    if not isinstance(broker, jobs.StubBroker):
        forget_namespace(broker)
        broker.close()
    set_plugins(None)
    jobs.reset_jobs()


def forget_namespace(broker) -> None:
    """Delete every key of a Redis broker's namespace (flush_all leaves the heartbeats); purge a
    RabbitMQ broker's queues."""
    broker.flush_all()
    if hasattr(broker, "namespace"):  # Redis
        for key in broker.client.scan_iter(f"{broker.namespace}:*"):
            broker.client.delete(key)


@pytest.fixture(params=BROKERS)
async def outbox_jobs(request, provider, fast_outbox):
    plugin = ChannelPlugin(http_channels(provider.url, provider.token))
    broker, runner = await asyncio.to_thread(start_jobs, request.param, plugin)
    yield Jobs(request.param, broker, plugin)
    await asyncio.to_thread(stop_jobs, broker, runner)


async def settle(*ids: UUID, until=DONE, timeout: float = 15.0) -> list[Message]:
    """Wait until every message is in one of ``until``; return them."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await Message.filter(id__in=ids)
        if len(rows) == len(ids) and all(r.status in until for r in rows):
            return sorted(rows, key=lambda r: ids.index(r.id))
        if time.monotonic() > deadline:
            raise AssertionError(f"messages did not settle: {[(str(r.id), r.status, r.attempts, r.last_error) for r in rows]}")
        await asyncio.sleep(0.05)


async def drain(broker, timeout: float = 30.0) -> None:
    """Wait until an in-process broker's main queue has no message left unprocessed (delayed
    retries, waiting on the delay queue, are not waited for)."""
    queue = broker.queues[jobs.QUEUE]
    deadline = time.monotonic() + timeout
    while queue.unfinished_tasks:
        if time.monotonic() > deadline:
            raise AssertionError("the jobs did not finish")
        await asyncio.sleep(0.02)


@pytest.fixture
async def inprocess_jobs():
    """Jobs in-process with the process's plugins, as in ``seva serve`` without a broker URL."""
    broker = await asyncio.to_thread(jobs.setup_jobs, "")
    runner = jobs.Runner(broker, threads=2).start()
    yield broker
    await asyncio.to_thread(runner.stop)
    jobs.reset_jobs()
