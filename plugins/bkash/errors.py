"""bKash's errors. The API answers HTTP 200 with ``statusCode`` other than "0000" and a
``statusMessage``, or with ``{errorCode, errorMessage}``; only 9999 (system error) of those is
worth retrying, as are network errors and 5xx answers."""

from __future__ import annotations

from typing import Any

SUCCESS = "0000"
RETRYABLE_CODES = frozenset({"9999"})
EXECUTE_ALREADY_CALLED = "2117"
ALREADY_COMPLETED = "2062"


class BkashError(Exception):
    def __init__(self, code: str, message: str, *, http_status: int = 200) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.http_status = code, message, http_status

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE_CODES or self.http_status >= 500

    @classmethod
    def of(cls, body: Any, http_status: int = 200) -> BkashError | None:
        """The error a bKash answer carries, or None for a success."""
        if not isinstance(body, dict):
            return cls("HTTP", f"HTTP {http_status} without a JSON body", http_status=http_status)
        if "errorCode" in body:
            return cls(str(body.get("errorCode")), str(body.get("errorMessage") or ""), http_status=http_status)
        code = str(body.get("statusCode") or "")
        if http_status >= 400 or code != SUCCESS:
            return cls(code or "HTTP", str(body.get("statusMessage") or body.get("message") or f"HTTP {http_status}"),
                       http_status=http_status)
        return None


class BkashUnavailable(Exception):
    """No answer we can trust (network failure, timeouts, 5xx, 9999) after the retries."""
