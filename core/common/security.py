"""Password hashing, keyed digests of tokens, signed access tokens and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from uuid import UUID

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from seva_crm.core.common.settings import get_settings

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not-a-real-password")
API_KEY_PREFIX = "seva_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (a missing one checks a dummy hash)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


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


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def issue_access_token(claims: dict, minutes: int) -> tuple[str, datetime]:
    expires = utcnow() + timedelta(minutes=minutes)
    token = jwt.encode({**claims, "exp": expires, "iat": utcnow(), "typ": "access"}, _key("access-token"), "HS256")
    return token, expires


def decode_access_token(token: str) -> dict | None:
    try:
        claims = jwt.decode(token, _key("access-token"), algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        return None
    return claims if claims.get("typ") == "access" else None


def uuid_or_none(value: object) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None
