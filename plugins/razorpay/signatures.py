"""Razorpay signatures: hex HMAC-SHA256, always compared in constant time.

- checkout (orders):      HMAC(key_secret, "order_id|payment_id")
- payment-link callback:  HMAC(key_secret, "plink_id|reference_id|status|payment_id")
- subscription checkout:  HMAC(key_secret, "payment_id|subscription_id")
- webhook:                HMAC(webhook_secret, raw request body), header X-Razorpay-Signature"""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, message: str | bytes) -> str:
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def _matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))


def verify_checkout(order_id: str, payment_id: str, signature: str | None, key_secret: str) -> bool:
    return _matches(sign(key_secret, f"{order_id}|{payment_id}"), signature)


def verify_payment_link(plink_id: str, reference_id: str, status: str, payment_id: str, signature: str | None, key_secret: str) -> bool:
    return _matches(sign(key_secret, f"{plink_id}|{reference_id}|{status}|{payment_id}"), signature)


def verify_subscription(payment_id: str, subscription_id: str, signature: str | None, key_secret: str) -> bool:
    return _matches(sign(key_secret, f"{payment_id}|{subscription_id}"), signature)


def verify_webhook(body: bytes, signature: str | None, webhook_secret: str) -> bool:
    return _matches(sign(webhook_secret, body), signature)
