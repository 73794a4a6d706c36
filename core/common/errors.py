"""Errors services raise. ``DomainError`` is an expected failure the caller can fix: the API
returns it in a mutation payload's ``errors`` list, the CLI as a one-line message."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    INVALID_PHONE = "invalid_phone"
    INVALID_EMAIL = "invalid_email"
    INVALID_CREDENTIALS = "invalid_credentials"
    INVALID_TOKEN = "invalid_token"
    RATE_LIMITED = "rate_limited"
    EXPIRED = "expired"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    INVALID_TRANSITION = "invalid_transition"
    FORBIDDEN = "forbidden"
    GATEWAY_ERROR = "gateway_error"  # a payment gateway refused or could not be reached
    MISSING_VARIABLE = "missing_variable"
    HAS_SUBSCRIPTIONS = "has_subscriptions"  # a customer with live subscriptions cannot be deleted
    UNAVAILABLE = "unavailable"  # the instance has nothing configured to do this (no SMTP server)
    ERASED = "erased"  # the customer's data was erased: the stub and its records are locked
    TRANSFER_NOT_ALLOWED = "transfer_not_allowed"  # the tenant's region rules forbid sending data there
    CONTACT_REQUIRED = "contact_required"  # the tenant has not named its privacy contact (no request is accepted)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str | None
    code: ErrorCode
    message: str

    def at_row(self, row: int) -> str:
        return f"row {row}: {self.field or 'row'}: {self.message}"


class DomainError(Exception):
    def __init__(self, *errors: FieldError) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors))

    @classmethod
    def of(cls, field: str | None, code: ErrorCode, message: str) -> DomainError:
        return cls(FieldError(field, code, message))


class NotFound(DomainError):
    def __init__(self, what: str, field: str | None = "id") -> None:
        super().__init__(FieldError(field, ErrorCode.NOT_FOUND, f"{what} not found"))


class Forbidden(Exception):
    """The caller is signed in but may not do this: a top-level API error, not a payload error."""
