"""One log line per request (logger ``seva.request``): request id, method, path (without the
tokens some paths carry), GraphQL operation name, status, outcome and duration. Never the query
text, variables or body. Outcome: ``ok``, ``user_error`` (the caller can fix it: bad input, a
limit, a payload error), ``auth_error`` (UNAUTHENTICATED, FORBIDDEN, 401, 403) or ``internal``."""

from __future__ import annotations

import logging
import re
import time
from contextvars import ContextVar
from typing import Any

from graphql import GraphQLError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from seva_crm.core.common.logs import log_event
from seva_crm.schema import metrics
from seva_crm.schema.errors import request_id

log = logging.getLogger("seva.request")
_notes: ContextVar[dict[str, Any] | None] = ContextVar("request_notes", default=None)
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
_PLAIN_PATHS = {"/graphql", "/healthz", "/readyz", "/privacy/requests", "/privacy/requests/verify"}
AUTH_CODES = {"UNAUTHENTICATED", "FORBIDDEN"}


def note(**fields: Any) -> None:
    """Add fields to the current request's log line."""
    notes = _notes.get()
    if notes is not None:
        notes.update(fields)


def loggable_path(path: str) -> str:
    if path in _PLAIN_PATHS:
        return path
    parts = path.strip("/").split("/")
    keep = 2 if parts[0] in ("webhooks", "privacy") else 1
    return "/" + "/".join(parts[:keep]) + ("/..." if len(parts) > keep else "")


def graphql_outcome(errors: list[GraphQLError] | None, data: Any) -> str:
    codes = {(e.extensions or {}).get("code") for e in errors or ()}
    if "INTERNAL" in codes:
        return "internal"
    if codes & AUTH_CODES:
        return "auth_error"
    if codes:
        return "user_error"
    if isinstance(data, dict) and any(isinstance(v, dict) and v.get("errors") for v in data.values()):
        return "user_error"  # a mutation's payload errors
    return "ok"


def _status_outcome(status: int) -> str:
    if status >= 500:
        return "internal"
    if status in (401, 403):
        return "auth_error"
    return "user_error" if status >= 400 else "ok"


class OperationName(SchemaExtension):
    """Notes the operation's name for the request's log line (a GraphQL name, or ``?``)."""

    def on_operation(self):
        yield
        try:
            name = self.execution_context.operation_name
        except Exception:  # noqa: BLE001 - an unparsable document has no name
            name = None
        if name:
            note(operation=name if _NAME.fullmatch(name) else "?")


class RequestLog:
    """Logs each request, and counts it in the metrics (``webhook_plugins``: the plugins with webhook routes)."""

    def __init__(self, app: ASGIApp, webhook_plugins: frozenset[str] = frozenset()) -> None:
        self.app, self.webhook_plugins = app, webhook_plugins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        notes: dict[str, Any] = {}
        token = _notes.set(notes)
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except BaseException:
            status = 500
            notes["outcome"] = "internal"
            raise
        finally:
            _notes.reset(token)
            outcome = notes.pop("outcome", None) or _status_outcome(status)
            fields = {"request_id": request_id.get(), "method": scope["method"], "path": loggable_path(scope["path"]),
                      **notes, "status": status, "outcome": outcome,
                      "duration_ms": round((time.perf_counter() - started) * 1000, 1)}
            log_event(log, logging.ERROR if outcome == "internal" else logging.INFO, "request", **fields)
            metrics.observe(scope["method"], fields["path"], status, outcome, notes.get("operation"),
                            time.perf_counter() - started, self.webhook_plugins)
