"""Reading a tenant's audit log: filters, keyset pages (newest first, by position in the
tenant's chain), a CSV export, and each user's sign-in history. Callers check the role
(owners and admins); every query here is scoped to one tenant's chain."""

from __future__ import annotations

import base64
import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tortoise.queryset import QuerySet

from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from seva_crm.core.models import AuditEvent
from seva_crm.core.platform import audit

LOGIN_ACTIONS = {"auth.login": "success", "auth.login_failed": "failed", "auth.login_throttled": "throttled"}
CSV_MAX_ROWS = 10_000
CSV_COLUMNS = ("seq", "at", "actor_type", "actor_id", "action", "subject_type", "subject_id", "changed", "details", "ip",
               "user_agent")


@dataclass
class AuditFilter:
    actor_type: str | None = None
    actor_id: str | None = None  # a user's or API key's id
    subject_type: str | None = None
    subject_id: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("customer." for every customer action)
    since: datetime | None = None  # at or after
    until: datetime | None = None  # before


def events_queryset(tenant_id: UUID, f: AuditFilter) -> QuerySet[AuditEvent]:
    if f.since and f.until and f.until <= f.since:
        raise DomainError.of("filter.until", ErrorCode.INVALID, "must be after since")
    qs = AuditEvent.filter(chain=audit.chain_of(tenant_id), tenant_id=tenant_id)
    for name in ("actor_type", "actor_id", "subject_type", "subject_id"):
        if (value := getattr(f, name)) is not None:
            qs = qs.filter(**{name: value})
    if f.action:
        qs = qs.filter(action__startswith=f.action) if f.action.endswith(".") else qs.filter(action=f.action)
    if f.since:
        qs = qs.filter(at__gte=f.since)
    if f.until:
        qs = qs.filter(at__lt=f.until)
    return qs


@dataclass
class EventPage:
    items: list[AuditEvent]
    has_next: bool
    has_previous: bool


def cursor_of(event: AuditEvent) -> str:
    return base64.urlsafe_b64encode(json.dumps(["audit", event.seq]).encode()).decode().rstrip("=")


def _seq_of(cursor: str) -> int:
    try:
        kind, seq = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if kind != "audit" or not isinstance(seq, int):
            raise ValueError
        return seq
    except (ValueError, TypeError):
        raise DomainError.of("after", ErrorCode.INVALID, "not a cursor from this list") from None


async def page(qs: QuerySet[AuditEvent], first: int | None = None, after: str | None = None) -> EventPage:
    """Newest first; ``after`` a cursor of this list. Positions in the chain are unique and
    never reused, so pages are stable while new entries arrive."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise DomainError.of("first", ErrorCode.INVALID, f"must be between 0 and {MAX_PAGE_SIZE}")
    if after is not None:
        qs = qs.filter(seq__lt=_seq_of(after))
    rows = await qs.order_by("-seq").limit(size + 1)
    return EventPage(rows[:size], has_next=len(rows) > size, has_previous=after is not None)


async def events_csv(qs: QuerySet[AuditEvent]) -> str:
    """The events as CSV, oldest first, at most CSV_MAX_ROWS (narrow the filter for more)."""
    if await qs.count() > CSV_MAX_ROWS:
        raise DomainError.of("filter", ErrorCode.INVALID, f"more than {CSV_MAX_ROWS} entries: narrow the time range")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in await qs.order_by("seq"):
        writer.writerow([_cell(v) for v in (e.seq, e.at.isoformat(), e.actor_type, e.actor_id, e.action, e.subject_type,
                                            e.subject_id, " ".join(e.changed), json.dumps(e.details, sort_keys=True), e.ip,
                                            e.user_agent)])
    return out.getvalue()


def _cell(value: object) -> object:
    """A text a spreadsheet would run as a formula (a user agent is the caller's to choose) is quoted."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def logins_queryset(tenant_id: UUID, user_id: UUID) -> QuerySet[AuditEvent]:
    """A user's sign-ins and failed or throttled attempts (those on an account that exists)."""
    return AuditEvent.filter(chain=audit.chain_of(tenant_id), tenant_id=tenant_id, subject_type="user",
                             subject_id=str(user_id), action__in=list(LOGIN_ACTIONS))
