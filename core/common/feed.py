"""Pages of a feed merged from several tables, newest first, with opaque cursors: a customer's
conversation (messages out and in) and timeline (core.crm.timeline).

Each source returns its rows at or before a time, newest first, at most ``limit``; the merge
orders them by (time, kind, id), drops what the cursor has already shown, and cuts the page."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from seva_crm.core.common.errors import DomainError, ErrorCode

MAX_PAGE = 100


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    id: str
    item: Any

    @property
    def key(self) -> tuple[datetime, str]:
        return (self.at, f"{self.kind}:{self.id}")

    def cursor(self) -> str:
        raw = json.dumps([self.at.isoformat(), f"{self.kind}:{self.id}"]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


Source = Callable[[datetime | None, int], Awaitable[list[Entry]]]


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        at, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(at), str(key)
    except (ValueError, TypeError):
        raise DomainError.of("after", ErrorCode.INVALID, "not a cursor of this list") from None


async def merged_page(sources: list[Source], first: int | None, after: str | None) -> tuple[list[Entry], bool]:
    """The entries after ``after`` (newest first), at most ``first`` (default 20, up to 100), and
    whether more follow."""
    limit = max(0, min(first if first is not None else 20, MAX_PAGE))
    bound = _decode(after) if after else None
    entries: list[Entry] = []
    for source in sources:
        entries += await source(bound[0] if bound else None, limit + 1 + 10)  # +10: rows sharing the cursor's instant
    entries = [e for e in entries if bound is None or e.key < bound]
    entries.sort(key=lambda e: e.key, reverse=True)
    return entries[:limit], len(entries) > limit
