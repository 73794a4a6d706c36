"""A request's or a job's tenant context: what it looks up about a tenant (its plugin settings
rows, their decrypted settings, its privacy policy) is loaded once and reused by every service
the request or job calls, instead of each service deriving it again from the tenant id.

The web app opens a scope per request (``schema.app``) and the job runner one per job
(``core.jobs``); outside a scope nothing is kept and every lookup loads afresh. A service that
changes what is kept (a plugin's settings, the tenant's privacy profile) calls ``forget``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar
from uuid import UUID

T = TypeVar("T")

_kept: ContextVar[dict[tuple[str, UUID, Any], Any] | None] = ContextVar("seva_tenant_context", default=None)


@contextmanager
def tenant_context() -> Iterator[None]:
    """Keep tenant lookups for the duration of the block (one request, one job)."""
    token = _kept.set({})
    try:
        yield
    finally:
        _kept.reset(token)


async def kept(what: str, tenant_id: UUID, load: Callable[[], Awaitable[T]], key: Any = None) -> T:
    """``await load()`` once per scope for (``what``, ``tenant_id``, ``key``); afresh outside a scope."""
    memo = _kept.get()
    if memo is None:
        return await load()
    slot = (what, tenant_id, key)
    if slot not in memo:
        memo[slot] = await load()
    return memo[slot]


def forget(tenant_id: UUID) -> None:
    """Drop what this scope keeps about the tenant (after changing it)."""
    memo = _kept.get()
    if memo:
        for slot in [slot for slot in memo if slot[1] == tenant_id]:
            del memo[slot]
