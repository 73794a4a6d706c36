"""Live events for GraphQL subscriptions, across processes.

Every domain event, once its change committed (``events.listen_many``), is published: through
Redis pub/sub when ``SEVA_PUBSUB_URL`` (or a redis ``SEVA_BROKER_URL``) is set, so a subscriber
connected to any ``seva serve`` process hears of a change made in any other process or worker;
otherwise straight to this process's subscribers. The events a transaction committed together
(an outbox batch's ``message.status_changed``) go to Redis in one pipelined round trip, still one
pub/sub message each, so subscribers see them as they would one at a time. Messages carry what events carry: ids and
states, never personal data. A subscriber that falls behind by ``QUEUE_SIZE`` events loses the
oldest (a live view, not a log: the change feed is the log)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from seva_crm.core.common.settings import get_settings
from seva_crm.core.platform import events
from seva_crm.core.platform.plugin_types import DomainEvent

log = logging.getLogger("seva.pubsub")

QUEUE_SIZE = 1000


@dataclass(eq=False)  # each subscriber is its own (hashable by identity)
class Subscriber:
    tenant_id: UUID
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def put(self, message: dict[str, Any]) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)


class Hub:
    """This process's subscribers by tenant; ``dispatch`` may be called from any thread."""

    def __init__(self) -> None:
        self._subscribers: dict[UUID, set[Subscriber]] = {}
        self._lock = threading.Lock()

    def add(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.setdefault(subscriber.tenant_id, set()).add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.get(subscriber.tenant_id, set()).discard(subscriber)

    def dispatch(self, message: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers.get(UUID(message["tenant_id"]), ()))
        for subscriber in subscribers:
            try:
                subscriber.loop.call_soon_threadsafe(subscriber.put, message)
            except RuntimeError:  # its loop has closed
                self.remove(subscriber)


hub = Hub()


def to_message(event: DomainEvent) -> dict[str, Any]:
    return {"type": event.name, "tenant_id": str(event.tenant_id), "id": str(event.subject_id),
            "timestamp": (event.occurred_at.isoformat() if event.occurred_at else None), "data": event.data}


def timestamp_of(message: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(message["timestamp"]) if message.get("timestamp") else None


def channel_prefix(url: str) -> str:
    """Pub/sub channels are shared by every database of a Redis server: name ours by the URL's database."""
    return f"seva:events:{urlsplit(url).path.strip('/') or '0'}:"


@lru_cache(maxsize=4)
def _publisher(url: str):
    import redis

    return redis.Redis.from_url(url)


@events.listen_many
async def publish(batch: list[DomainEvent]) -> None:
    """Hand events committed together to every process's subscribers of their tenants, in order."""
    messages = [to_message(event) for event in batch]
    url = get_settings().pubsub_redis_url
    if not url:
        for message in messages:
            hub.dispatch(message)
        return
    prefix = channel_prefix(url)
    payloads = [(prefix + message["tenant_id"], json.dumps(message, default=str)) for message in messages]
    await asyncio.to_thread(_publish, _publisher(url), payloads)


def _publish(client, payloads: list[tuple[str, str]]) -> None:
    """PUBLISH each (channel, payload) in one round trip (a pipeline without MULTI: Redis runs
    them in order)."""
    if len(payloads) == 1:
        client.publish(*payloads[0])
        return
    with client.pipeline(transaction=False) as pipe:
        for channel, payload in payloads:
            pipe.publish(channel, payload)
        pipe.execute()


class RedisListener:
    """One task per process (on the web server's loop) reading every tenant's channel and
    dispatching to this process's subscribers; it reconnects after a Redis failure."""

    def __init__(self) -> None:
        self.task: asyncio.Task | None = None
        self.ready = asyncio.Event()

    def ensure(self, url: str) -> None:
        if self.task is None or self.task.done():
            self.ready = asyncio.Event()
            self.task = asyncio.get_running_loop().create_task(self._run(url))

    async def _run(self, url: str) -> None:
        import redis.asyncio as aioredis

        delay = 0.5
        while True:
            client = aioredis.Redis.from_url(url)
            try:
                async with client.pubsub() as channel:
                    await channel.psubscribe(channel_prefix(url) + "*")
                    self.ready.set()
                    delay = 0.5
                    async for item in channel.listen():
                        if item.get("type") == "pmessage":
                            hub.dispatch(json.loads(item["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis went away: retry, subscribers keep waiting
                log.warning("live events: redis listener failed (%s); retrying in %.1fs", type(exc).__name__, delay)
                self.ready.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
            finally:
                await client.aclose()


_listeners: dict[asyncio.AbstractEventLoop, RedisListener] = {}


@asynccontextmanager
async def subscribe(tenant_id: UUID) -> AsyncIterator[asyncio.Queue]:
    """A queue of the tenant's live events (dicts: type, id, timestamp, data) while the block runs."""
    url = get_settings().pubsub_redis_url
    if url:
        loop = asyncio.get_running_loop()
        listener = _listeners.setdefault(loop, RedisListener())
        listener.ensure(url)
        await asyncio.wait_for(listener.ready.wait(), timeout=10)
    subscriber = Subscriber(tenant_id, asyncio.get_running_loop())
    hub.add(subscriber)
    try:
        yield subscriber.queue
    finally:
        hub.remove(subscriber)
