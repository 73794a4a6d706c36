"""Normalising what people type: phones to E.164, emails, tags, passwords."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from seva_crm.core.common.enums import Region
from seva_crm.core.common.errors import DomainError, ErrorCode

MAX_TAGS = 20
MAX_TAG_LENGTH = 50
MIN_PASSWORD = 10
MAX_PASSWORD = 1024


def normalize_phone(raw: str, region: Region, field: str = "phone") -> str:
    """'98765 43210' in IN -> '+919876543210'; '01712-345678' in BD -> '+8801712345678'."""
    try:
        number = phonenumbers.parse(raw, region.value)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise DomainError.of(field, ErrorCode.INVALID_PHONE, f"not a valid phone number for region {region.value}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str, field: str = "email") -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise DomainError.of(field, ErrorCode.INVALID_EMAIL, str(exc)) from None


def normalize_tags(tags: list[str], field: str = "tags") -> list[str]:
    cleaned = list(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))
    if len(cleaned) > MAX_TAGS:
        raise DomainError.of(field, ErrorCode.INVALID, f"at most {MAX_TAGS} tags")
    if any(len(t) > MAX_TAG_LENGTH for t in cleaned):
        raise DomainError.of(field, ErrorCode.INVALID, f"a tag is at most {MAX_TAG_LENGTH} characters")
    return cleaned


def check_password(password: str, field: str = "password") -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise DomainError.of(field, ErrorCode.INVALID, f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def require_text(value: str | None, field: str, max_length: int) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError.of(field, ErrorCode.REQUIRED, "is required")
    if len(value) > max_length:
        raise DomainError.of(field, ErrorCode.INVALID, f"at most {max_length} characters")
    return value


def collect(*checks) -> list:
    """Run each zero-argument check, gathering every DomainError so one reply names all problems."""
    results, errors = [], []
    for check in checks:
        try:
            results.append(check())
        except DomainError as exc:
            results.append(None)
            errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    return results
