"""SSLCommerz's refusals as typed exceptions."""

from __future__ import annotations


class SslcommerzError(Exception):
    """SSLCommerz answered, and refused (``failedreason``, ``errorReason``, an APIConnect other than DONE)."""

    def __init__(self, message: str, *, http_status: int = 200) -> None:
        super().__init__(message)
        self.message, self.http_status = message, http_status

    @property
    def retryable(self) -> bool:
        return self.http_status >= 500


class SslcommerzUnavailable(Exception):
    """No answer we can trust (network failure, timeouts, 5xx) after the retries."""
