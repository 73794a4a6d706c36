"""SSLCommerz's ``verify_sign``: md5 over ``key=value`` pairs joined by ``&`` in key order, over
the keys ``verify_key`` lists plus ``store_passwd``, whose value is md5(store_passwd).
Compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def sign(fields: Mapping[str, str], keys: list[str], store_passwd: str) -> str:
    values = {key: str(fields.get(key, "")) for key in keys}
    values["store_passwd"] = hashlib.md5(store_passwd.encode()).hexdigest()
    return hashlib.md5("&".join(f"{key}={values[key]}" for key in sorted(values)).encode()).hexdigest()


def verify(fields: Mapping[str, str], store_passwd: str) -> bool:
    """Whether ``fields`` (an IPN or a browser return) carry a good verify_sign of the store."""
    given, listed = fields.get("verify_sign") or "", fields.get("verify_key") or ""
    keys = [key for key in listed.split(",") if key]
    if not given or not keys or "store_passwd" in keys or any(key not in fields for key in keys):
        return False
    return hmac.compare_digest(sign(fields, keys, store_passwd).encode(), given.strip().encode("utf-8", "replace"))
