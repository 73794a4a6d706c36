"""Password hashing, keyed digests of tokens, signed access tokens and API keys; and the clock."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from uuid import UUID

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from seva_crm.core.common.settings import get_settings

API_KEY_PREFIX = "seva_"


@lru_cache(maxsize=1)
def password_hasher() -> PasswordHasher:
    """argon2id with the cost of ``SEVA_PASSWORD_HASH_*`` (tests clear this cache to change it)."""
    s = get_settings()
    return PasswordHasher(time_cost=s.password_hash_time_cost, memory_cost=s.password_hash_memory_kib,
                          parallelism=s.password_hash_parallelism)


@lru_cache(maxsize=2)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not-a-real-password")


_pool: ThreadPoolExecutor | None = None


def _hash_pool() -> ThreadPoolExecutor:
    """The threads hashes run on: argon2 releases the GIL, so the event loop keeps serving, and a
    bounded pool bounds the memory a burst of sign-ins takes (64 MiB each by default)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=get_settings().password_hash_pool_size, thread_name_prefix="seva-password")
    return _pool


async def _off_loop(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(_hash_pool(), fn, *args)


def _verify(password_hash: str | None, password: str) -> bool:
    hasher = password_hasher()
    try:
        return hasher.verify(password_hash or _dummy_hash(hasher), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    """An argon2id hash of ``password``, computed off the event loop."""
    return await _off_loop(password_hasher().hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Off the event loop; constant work whether or not the account exists (a missing one checks
    a dummy hash of the same cost)."""
    return await _off_loop(_verify, password_hash, password)


def password_needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than today's."""
    try:
        return password_hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def derive_key(purpose: str, secret: str | None = None) -> bytes:
    """A 32-byte key for one purpose, derived from SEVA_SECRET_KEY (HKDF-SHA256)."""
    material = (secret or get_settings().secret).encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"seva-crm", info=purpose.encode()).derive(material)


@lru_cache(maxsize=8)
def _key(purpose: str) -> bytes:
    return derive_key(purpose)


def digest(value: str, purpose: str = "token") -> str:
    """Keyed digest for secrets we only compare (refresh tokens, API keys, codes): a leaked
    table cannot be brute-forced without the instance secret."""
    return hmac.new(_key(f"digest:{purpose}"), value.encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_code(digits: int = 6) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def new_api_key() -> tuple[str, str]:
    """Return (prefix, full key). The prefix is stored in clear to find the row."""
    prefix = secrets.token_hex(6)
    return prefix, f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def api_key_prefix(key: str) -> str | None:
    if not key.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, _ = key[len(API_KEY_PREFIX):].partition("_")
    return prefix if sep and len(prefix) == 12 else None


# --- the clock ---------------------------------------------------------------------------
# Every part of Seva reads the time through ``utcnow()`` (Tortoise's auto_now fields too: see
# core.platform.database), so a test can pin it with ``set_clock``; nothing reads the wall clock itself.


class Clock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class PinnedClock(Clock):
    """A clock set to a chosen instant (tests; and a worker process that must read its caller's
    time, as the CSV import's checking process does). With ``tick`` it moves on at the pace of real
    time from there (leases and retries still come due); without, it stands still until moved."""

    def __init__(self, at: datetime, *, tick: bool = True) -> None:
        self._lock = threading.Lock()
        self.tick = tick
        self.set(at)

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("pin the clock to an aware datetime")
        with self._lock:
            self._at, self._since = at.astimezone(timezone.utc), time.monotonic()

    def advance(self, **delta: float) -> None:
        self.set(self.now() + timedelta(**delta))

    def now(self) -> datetime:
        with self._lock:
            return self._at + (timedelta(seconds=time.monotonic() - self._since) if self.tick else timedelta())


_clock: Clock = Clock()


def set_clock(clock: Clock | None) -> Clock:
    """Make ``clock`` the one every ``utcnow()`` reads (None: the real time); returns the previous one."""
    global _clock
    previous, _clock = _clock, clock or Clock()
    return previous


def utcnow() -> datetime:
    return _clock.now()


def issue_access_token(claims: dict, minutes: int) -> tuple[str, datetime]:
    now = utcnow()
    expires = now + timedelta(minutes=minutes)
    token = jwt.encode({**claims, "exp": expires, "iat": now, "typ": "access"}, _key("access-token"), "HS256")
    return token, expires


def decode_access_token(token: str) -> dict | None:
    """The claims of a valid, unexpired access token, or None. ``exp`` is checked against our
    clock (``utcnow``), not by pyjwt against the wall clock."""
    try:
        claims = jwt.decode(token, _key("access-token"), algorithms=["HS256"],
                            options={"require": ["exp", "sub"], "verify_exp": False, "verify_iat": False,
                                     "verify_nbf": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= utcnow().timestamp():
        return None
    return claims if claims.get("typ") == "access" else None


def uuid_or_none(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None
