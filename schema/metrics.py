"""Prometheus metrics: ``GET /metrics``, for an operator's scraper.

Requests by route and status (and their latency), GraphQL operations by name and outcome (the
operation's name only, never its text), webhook deliveries received by plugin and outcome,
job runs by actor and outcome (``core/jobs/metrics.py``) and, read from the database at each
scrape, the outbox's messages by status. With several ``seva serve --workers`` processes, set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory: each process writes its counters there and a
scrape of any process sums them all.

Access: with ``SEVA_METRICS_TOKEN`` set, only ``Authorization: Bearer <token>``; without it, only
clients on loopback (a scraper on the same machine)."""

from __future__ import annotations

import hmac
import ipaddress
import os
import threading

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from seva_crm.core.common.enums import MessageStatus
from seva_crm.core.common.settings import Settings

REQUESTS = Counter("seva_http_requests", "HTTP requests, by method, route and status", ["method", "route", "status"])
REQUEST_SECONDS = Histogram("seva_http_request_duration_seconds", "HTTP request latency, by route", ["route"])
OPERATIONS = Counter("seva_graphql_operations", "GraphQL operations, by operation name and outcome", ["operation", "outcome"])
WEBHOOKS = Counter("seva_webhook_deliveries", "Webhook deliveries received, by plugin and outcome", ["plugin", "outcome"])

MAX_OPERATION_NAMES = 500  # past this many distinct names (clients choose them), the rest count as "other"
_operations: set[str] = set()
_operations_lock = threading.Lock()


def _operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    with _operations_lock:
        if name in _operations or len(_operations) < MAX_OPERATION_NAMES:
            _operations.add(name)
            return name
    return "other"


def observe(method: str, route: str, status: int, outcome: str, operation: str | None, seconds: float,
            webhook_plugins: frozenset[str]) -> None:
    """One finished request (called by the request log, with the path as it logs it)."""
    parts = route.split("/")
    webhook = parts[2] if len(parts) > 2 and parts[1] == "webhooks" and parts[2] in webhook_plugins else None
    if status == 404 and webhook is None:
        route = "unmatched"  # unknown paths must not become labels
    REQUESTS.labels(method if method in ("GET", "POST", "HEAD", "OPTIONS") else "other", route, str(status)).inc()
    REQUEST_SECONDS.labels(route).observe(seconds)
    if route == "/graphql" and method == "POST":
        OPERATIONS.labels(_operation_label(operation), outcome).inc()
    if webhook is not None:
        WEBHOOKS.labels(webhook, outcome).inc()


class OutboxBacklog:
    """A collector reading the outbox's message counts by status at scrape time."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def collect(self):
        gauge = GaugeMetricFamily("seva_outbox_messages", "Outbox messages by status (queued and sending are the backlog)",
                                  labels=["status"])
        for status in MessageStatus:
            gauge.add_metric([status.value], self.counts.get(status.value, 0))
        yield gauge


async def outbox_counts() -> dict[str, int]:
    from tortoise.functions import Count

    from seva_crm.core.models import Message

    rows = await Message.annotate(n=Count("id")).group_by("status").values("status", "n")
    return {str(getattr(r["status"], "value", r["status"])): r["n"] for r in rows}


def allowed(request: Request, settings: Settings) -> bool:
    token = settings.metrics_token.get_secret_value()
    if token:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    try:
        return bool(request.client) and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def endpoint(settings: Settings):
    async def metrics(request: Request) -> Response:
        if not allowed(request, settings):
            return PlainTextResponse("forbidden: set SEVA_METRICS_TOKEN and send it as a bearer token, "
                                     "or scrape from this machine", status_code=403)
        registry = CollectorRegistry(auto_describe=False)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.MultiProcessCollector(registry)  # every process's counters, from their files
        else:
            registry.register(ThisProcess())
        registry.register(OutboxBacklog(await outbox_counts()))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics


class ThisProcess:
    """The process's own metrics (prometheus_client's default registry)."""

    def collect(self):
        yield from REGISTRY.collect()
