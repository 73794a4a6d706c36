"""Sliding-window limits shared by every process through the database: failed sign-ins per
account and per IP, and the public privacy endpoints. Keys are stored as keyed digests, never
as the IP, email or identifier itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.models import RateLimitHit
from seva_crm.core.common.security import digest, utcnow


def _key(bucket: str, key: str) -> str:
    return digest(key, f"ratelimit:{bucket}")


async def exceeded(bucket: str, key: str, limit: int, window_seconds: int) -> bool:
    """Whether ``key`` has used ``bucket`` ``limit`` times within the window."""
    since = utcnow() - timedelta(seconds=window_seconds)
    return await RateLimitHit.filter(bucket=bucket, key_hash=_key(bucket, key), created_at__gte=since).count() >= limit


async def record(bucket: str, key: str) -> None:
    await RateLimitHit.create(bucket=bucket, key_hash=_key(bucket, key))


async def clear(bucket: str, key: str) -> None:
    """Forget ``key``'s uses of ``bucket`` (a successful sign-in clears the account's failures)."""
    await RateLimitHit.filter(bucket=bucket, key_hash=_key(bucket, key)).delete()


async def hit(bucket: str, key: str, limit: int, window_seconds: int) -> None:
    """Count one use of ``bucket`` by ``key``; raise RATE_LIMITED once ``limit`` uses fall in the window."""
    if await exceeded(bucket, key, limit, window_seconds):
        raise DomainError.of(None, ErrorCode.RATE_LIMITED, "too many requests; try again later")
    await record(bucket, key)


async def prune(now: datetime, older_than_seconds: int = 86400) -> int:
    """Drop uses older than any window (a scheduled job, daily)."""
    return await RateLimitHit.filter(created_at__lt=now - timedelta(seconds=older_than_seconds)).delete()
