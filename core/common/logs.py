"""Logs as key=value lines (logfmt), one event a line:

    ts=2025-01-31T09:12:03.114Z level=info logger=seva.request event=request request_id=4f0c... method=POST
    path=/graphql operation=CustomerCreate status=200 outcome=user_error duration_ms=12.4

``log_event(logger, level, "request", request_id=..., ...)`` writes such an event (its message is
the event's name and fields, so any handler shows them); other records get ``msg="..."``. An
exception is written as its type and the frames it passed through, never its message: messages
of database and library errors quote the values involved (a duplicate phone, an email address)."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

_BARE = re.compile(r"[A-Za-z0-9_.:/@+\-]+")


def _value(value: Any) -> str:
    text = str(value)
    if _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def pairs(fields: dict[str, Any]) -> str:
    return " ".join(f"{key}={_value(value)}" for key, value in fields.items())


def log_event(logger: logging.Logger, level: int, event: str, *, exc_info: BaseException | None = None, **fields: Any) -> None:
    logger.log(level, "%s %s", event, pairs(fields), exc_info=exc_info, extra={"logfmt_event": True}, stacklevel=2)


def describe_exception(exc: BaseException) -> dict[str, str]:
    """``exc`` (type) and ``at`` (the innermost frames, file:line function), without the message."""
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    at = " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames))
    kind = type(exc)
    return {"exc": f"{kind.__module__}.{kind.__qualname__}", "at": at}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        line = pairs({"ts": ts, "level": record.levelname.lower(), "logger": record.name})
        if getattr(record, "logfmt_event", False):
            line += " event=" + record.getMessage()
        else:
            line += " msg=" + _value(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            line += " " + pairs(describe_exception(record.exc_info[1]))
        return line


def configure_logging(level: int = logging.INFO) -> None:
    """Every logger (ours, uvicorn's, the libraries') writes key=value lines to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name in ("httpx", "httpcore"):  # every outgoing request's URL, which may carry a phone number
        logging.getLogger(name).setLevel(logging.WARNING)
