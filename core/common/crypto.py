"""Encryption of secrets at rest (plugin settings): AES-256-GCM under a key derived from
SEVA_SECRET_KEY.

A ciphertext reads ``v1:<key id>:<base64url(nonce + sealed)>``. The key id names the key (it is
derived from the secret, and tells nothing of it), so after SEVA_SECRET_KEY changes
``seva secrets rotate --old-secret-key ...`` can tell old ciphertexts from new ones. Each
ciphertext is bound to where it belongs (``context``, e.g. tenant, plugin and field), so a
ciphertext copied to another row does not decrypt."""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from seva_crm.core.common.security import derive_key
from seva_crm.core.common.settings import get_settings

VERSION = "v1"
PURPOSE = "secrets-at-rest"


class CryptoError(Exception):
    """A ciphertext that cannot be decrypted with the keys at hand (wrong key, altered, garbled)."""


@lru_cache(maxsize=8)
def _key(secret: str) -> tuple[str, AESGCM]:
    key_id = derive_key(f"{PURPOSE}:key-id", secret)[:6].hex()
    return key_id, AESGCM(derive_key(PURPOSE, secret))


def current_key_id() -> str:
    return _key(get_settings().secret)[0]


def key_id_of(token: str) -> str:
    parts = token.split(":")
    if len(parts) != 3 or parts[0] != VERSION:
        raise CryptoError("not a ciphertext of this format")
    return parts[1]


def encrypt(plaintext: str, context: str, *, secret: str | None = None) -> str:
    """Encrypt under the current key (or the key of ``secret``)."""
    key_id, aead = _key(secret or get_settings().secret)
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, plaintext.encode(), context.encode())
    return f"{VERSION}:{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(token: str, context: str, *, old_secrets: tuple[str, ...] = ()) -> str:
    """Decrypt with whichever key the ciphertext names: the current one or one of ``old_secrets``."""
    key_id = key_id_of(token)
    for secret in (get_settings().secret, *old_secrets):
        candidate_id, aead = _key(secret)
        if candidate_id == key_id:
            try:
                raw = base64.urlsafe_b64decode(token.split(":")[2])
                return aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
            except (InvalidTag, ValueError) as exc:
                raise CryptoError("ciphertext altered or moved from where it belongs") from exc
    raise CryptoError(f"encrypted under an unknown key ({key_id}): was SEVA_SECRET_KEY changed without "
                      "`seva secrets rotate`?")
