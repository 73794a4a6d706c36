"""Rate limits shared by every process through the database: sign-ins (core.identity.login_limits)
and the public privacy endpoints.

Each limit is a counter row per bucket and key (the key stored as a keyed digest, never as the
IP, email or identifier itself). ``take`` checks and counts an attempt in ONE statement, an
``INSERT ... ON CONFLICT DO UPDATE ... WHERE <still allowed> RETURNING hits`` (PostgreSQL and
SQLite alike): the row is locked while it is updated, so of any number of concurrent attempts
exactly ``limit`` are let through, never more. Times are epoch seconds from ``utcnow()``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise import connections
from tortoise.expressions import F

from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.security import digest, utcnow
from seva_crm.core.models import RateLimit

TABLE = RateLimit._meta.db_table


@dataclass(frozen=True)
class Limit:
    """``limit`` attempts per ``window`` seconds. The window starts at the first attempt, or
    with ``sliding`` at the latest one. With ``backoff`` (seconds), attempts over the limit are
    not refused outright: each may come once the previous one's delay has passed, the delay
    starting at ``backoff`` and doubling up to ``backoff_max`` (default: the window)."""

    limit: int
    window: float
    backoff: float = 0
    backoff_max: float | None = None
    sliding: bool = False


def _key(bucket: str, key: str) -> str:
    return digest(key, f"ratelimit:{bucket}")


def _now() -> float:
    return utcnow().timestamp()


def _num(value: float) -> str:
    """A number as an SQL literal (only numbers we computed are inlined; keys are parameters)."""
    return repr(float(value))


async def take(bucket: str, key: str, rule: Limit) -> bool:
    """Count one attempt of ``key`` at ``bucket`` if ``rule`` allows it now; whether it did.
    A refused attempt is not counted."""
    now, limit = _now(), int(rule.limit)
    cap = rule.window if rule.backoff_max is None else rule.backoff_max
    t = TABLE
    expired = f"{t}.reset_at <= {_num(now)}"
    hits = f"(CASE WHEN {expired} THEN 1 ELSE {t}.hits + 1 END)"
    if rule.backoff > 0:
        doubled = f"(CASE WHEN {t}.delay * 2 > {_num(cap)} THEN {_num(cap)} WHEN {t}.delay * 2 < {_num(rule.backoff)} " \
                  f"THEN {_num(rule.backoff)} ELSE {t}.delay * 2 END)"
        delay = f"(CASE WHEN {hits} < {limit} THEN 0 WHEN {hits} = {limit} THEN {_num(rule.backoff)} ELSE {doubled} END)"
        backoff_ok = f" OR {t}.next_at <= {_num(now)}"
        first_delay = min(rule.backoff, cap) if limit <= 1 else 0
    else:
        delay, backoff_ok, first_delay = "0", "", 0
    reset = _num(now + rule.window)
    keep_reset = reset if rule.sliding else f"{t}.reset_at"
    sql = (
        f"INSERT INTO {t} (bucket, key_hash, hits, reset_at, next_at, delay) "
        f"VALUES ({{p1}}, {{p2}}, 1, {reset}, {_num(now + first_delay)}, {_num(first_delay)}) "
        f"ON CONFLICT (bucket, key_hash) DO UPDATE SET "
        f"hits = {hits}, "
        f"reset_at = CASE WHEN {expired} THEN {reset} ELSE {keep_reset} END, "
        f"next_at = {_num(now)} + {delay}, "
        f"delay = {delay} "
        f"WHERE {expired} OR {t}.hits < {limit}{backoff_ok} "
        f"RETURNING hits"
    )
    conn = connections.get(RateLimit._meta.default_connection)
    marks = ("$1", "$2") if conn.capabilities.dialect == "postgres" else ("?", "?")
    rows = await conn.execute_query_dict(sql.format(p1=marks[0], p2=marks[1]), [bucket, _key(bucket, key)])
    return bool(rows)


async def hit(bucket: str, key: str, limit: int, window_seconds: int) -> None:
    """Count one use of ``bucket`` by ``key``; raise RATE_LIMITED if ``limit`` uses already fall in the window."""
    if not await take(bucket, key, Limit(limit, window_seconds)):
        raise DomainError.of(None, ErrorCode.RATE_LIMITED, "too many requests; try again later")


async def give_back(bucket: str, key: str) -> None:
    """Uncount one attempt (it turned out not to be one the limit is about: a sign-in that succeeded)."""
    await RateLimit.filter(bucket=bucket, key_hash=_key(bucket, key), hits__gt=0).update(hits=F("hits") - 1)


async def over(bucket: str, key: str, limit: int) -> bool:
    """Whether ``key`` has used ``limit`` attempts of ``bucket`` in its current window."""
    return await RateLimit.filter(bucket=bucket, key_hash=_key(bucket, key), hits__gte=limit, reset_at__gt=_now()).exists()


async def remember(bucket: str, key: str, seconds: float) -> None:
    """Mark ``key`` at ``bucket`` for ``seconds`` from now (see ``remembered``)."""
    await take(bucket, key, Limit(2**31 - 1, seconds, sliding=True))


async def remembered(bucket: str, key: str) -> bool:
    return await RateLimit.filter(bucket=bucket, key_hash=_key(bucket, key), reset_at__gt=_now()).exists()


async def clear(bucket: str, key: str) -> None:
    """Forget ``key``'s uses of ``bucket``."""
    await RateLimit.filter(bucket=bucket, key_hash=_key(bucket, key)).delete()


async def prune(now: datetime) -> int:
    """Drop counters whose window has passed (a scheduled job, daily)."""
    return await RateLimit.filter(reset_at__lt=now.timestamp()).delete()
