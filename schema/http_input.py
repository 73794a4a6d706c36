"""The HTTP side of the input rules (docs/limits.md), in front of every route:

- a request body larger than ``SEVA_MAX_BODY_BYTES`` is refused with 413, before it is read
  whole (by its Content-Length, or as soon as the stream passes the limit);
- outside /graphql (plugins' webhooks, the public privacy endpoints) a body or query string with
  an invalid code point (``core.common.text``), raw or as a JSON escape (``\\u0000``), is
  refused with 400 before the route's handler (and its signature check) sees it. /graphql
  checks its variables and literals itself and names the argument (``schema.limits``)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seva_crm.core.common.text import find_invalid, invalid_char

GRAPHQL_PATH = "/graphql"


class BodyTooLarge(Exception):
    pass


def refusal(path: str, status: int, code: str, message: str, **details) -> JSONResponse:
    """A refusal in the shape the route's clients read: GraphQL's ``errors`` with
    ``extensions.code`` on /graphql, ``{"errors": [{"field", "code", "message"}]}`` elsewhere."""
    if path == GRAPHQL_PATH:
        error = {"message": message, "extensions": {"code": code, **details}}
    else:
        error = {"field": None, "code": code, "message": message}
    return JSONResponse({"errors": [error]}, status_code=status)


def invalid_body(body: bytes, content_type: str) -> str | None:
    """Why ``body`` is refused (a sentence), or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")  # not UTF-8: the handler decides; raw control bytes are still refused
    if (char := invalid_char(text)) is not None:
        return f"the body holds a character that is not allowed ({char})"
    found = None
    if "json" in content_type:
        try:
            found = find_invalid(json.loads(text))
        except RecursionError:
            return "the JSON body is nested too deeply"
        except ValueError:
            return None  # not JSON: the handler answers that
    elif "x-www-form-urlencoded" in content_type:
        found = find_invalid(dict(parse_qsl(text, keep_blank_values=True)))
    if found is not None:
        return f"{found[0] or 'the body'} holds a character that is not allowed ({found[1]})"
    return None


class InputGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return await self._too_large(path, scope, receive, send)
        try:
            body = await self._read(receive)
        except BodyTooLarge:
            return await self._too_large(path, scope, receive, send)
        if path != GRAPHQL_PATH:
            reason = invalid_body(body, headers.get(b"content-type", b"").decode("latin-1").lower())
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            if reason is None and (found := find_invalid(dict(query))) is not None:
                reason = f"the query parameter {found[0]} holds a character that is not allowed ({found[1]})"
            if reason is not None:
                return await refusal(path, 400, "BAD_USER_INPUT", reason)(scope, receive, send)
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        response = refusal(path, 413, "LIMIT_EXCEEDED", f"the request body is larger than {self.max_body_bytes} bytes",
                           limit="bodyBytes", max=self.max_body_bytes)
        response.headers["connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
