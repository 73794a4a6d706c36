"""Razorpay's error body, ``{"error": {"code", "description", "field", "source", "step", "reason"}}``,
as a typed exception."""

from __future__ import annotations

import httpx

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class RazorpayError(Exception):
    def __init__(self, status: int, code: str, description: str, *, field: str | None = None, reason: str | None = None,
                 source: str | None = None, step: str | None = None) -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status, self.code, self.description = status, code, description
        self.field, self.reason, self.source, self.step = field, reason, source, step

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUS

    @property
    def duplicate(self) -> bool:
        """A create refused because its reference id was used before ("already attempted")."""
        text = self.description.lower()
        return self.status == 400 and self.code == "BAD_REQUEST_ERROR" and "already" in text and (
            self.field in ("reference_id", "receipt") or "reference" in text or "receipt" in text)

    @classmethod
    def from_response(cls, response: httpx.Response) -> RazorpayError:
        try:
            error = response.json()["error"]
            if not isinstance(error, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            code = "SERVER_ERROR" if response.status_code >= 500 else "BAD_REQUEST_ERROR"
            return cls(response.status_code, code, f"HTTP {response.status_code} without an error body")
        return cls(
            response.status_code, str(error.get("code") or "UNKNOWN_ERROR"), str(error.get("description") or ""),
            field=error.get("field"), reason=error.get("reason"), source=error.get("source"), step=error.get("step"),
        )


class RazorpayUnavailable(Exception):
    """No answer we can trust after the retries (network failure, timeouts, 5xx): the create may
    or may not have happened at Razorpay, and a lookup did not find it."""
