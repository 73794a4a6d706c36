"""Sliding-window limits for public endpoints, shared by every process through the database.
Keys are stored as keyed digests, never as the IP or identifier itself."""

from __future__ import annotations

from datetime import timedelta

from core.errors import DomainError, ErrorCode
from core.models import RateLimitHit
from core.security import digest, utcnow


async def hit(bucket: str, key: str, limit: int, window_seconds: int) -> None:
    """Count one use of ``bucket`` by ``key``; raise RATE_LIMITED once ``limit`` uses fall in the window."""
    key_hash = digest(key, f"ratelimit:{bucket}")
    now = utcnow()
    since = now - timedelta(seconds=window_seconds)
    if await RateLimitHit.filter(bucket=bucket, key_hash=key_hash, created_at__gte=since).count() >= limit:
        raise DomainError.of(None, ErrorCode.RATE_LIMITED, "too many requests; try again later")
    await RateLimitHit.create(bucket=bucket, key_hash=key_hash)


async def prune(older_than_seconds: int = 86400) -> int:
    return await RateLimitHit.filter(created_at__lt=utcnow() - timedelta(seconds=older_than_seconds)).delete()
