"""Opaque global IDs (``base64url("Customer:<uuid>")``) as the API and CLI show them, and the
ordered ids of rows written in bulk."""

from __future__ import annotations

import base64
import binascii
import os
import struct
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from uuid import UUID

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


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


_V7 = 0x7 << 76 | 0b10 << 62  # version 7, RFC 9562 variant
_LOW62 = (1 << 62) - 1
_STEPS = struct.Struct(">1024I")


def ordered_uuid_texts(at: datetime) -> Iterator[str]:
    """UUIDv7s (RFC 9562) in increasing order, for rows written in bulk, as text (``str(uuid)``,
    written straight from the number: an import keeps its ids as text, see
    ``core.customers.csv_import``). The time ``at`` to the millisecond, then a random 74-bit
    counter raised by a random step (1 to 2**32) per id (the RFC's "monotonic random" method). Rows
    whose ids keep order are appended to every index that holds the id (the primary key,
    ``(tenant, created_at, id)``, the identifier and tag rows' customer) rather than scattered over
    it: on SQLite that is a third of an import's database time. The random steps keep the next id
    unguessable, as a UUIDv4's would be."""
    for n in _ordered(at):
        h = f"{n:032x}"
        yield f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _ordered(at: datetime) -> Iterator[int]:
    millis = (at - _EPOCH) // timedelta(milliseconds=1)
    high = (millis & ((1 << 48) - 1)) << 80 | _V7
    counter = int.from_bytes(os.urandom(10), "big") >> 7  # 73 bits: room for 2**41 steps
    while True:
        for step in _STEPS.unpack(os.urandom(_STEPS.size)):  # one system call per 1024 ids
            counter += step + 1
            yield high | (counter >> 62) << 64 | (counter & _LOW62)
