"""Opaque global IDs (``base64url("Customer:<uuid>")``) as the API and CLI show them."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID


def to_global_id(type_name: str, id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{id}".encode()).decode().rstrip("=")


def from_global_id(value: str, type_name: str) -> UUID | None:
    """The UUID behind ``value`` if it names an object of ``type_name``; else None (treat as not found)."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        kind, _, uuid = raw.partition(":")
        return UUID(uuid) if kind == type_name else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
