"""The shape of a table that holds customers' personal data (a privacy source), shared by the
areas that own such tables (billing) and the privacy engine that reads them (``core.privacy``):
owners define sources with these, privacy collects them, so neither imports the other back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from seva_crm.core.platform.plugin_types import Disposition, RecordRef, RetentionDecision


class Source(Protocol):
    table: str
    label: str  # plain words for the access summary

    async def export(self, tenant_id: UUID, customer_id: UUID) -> list[dict[str, Any]]: ...

    async def plan(self, tenant_id: UUID, customer_id: UUID) -> list[RecordRef]: ...

    async def apply(self, tenant_id: UUID, customer_id: UUID, decisions: Sequence[tuple[RecordRef, RetentionDecision]]) -> None: ...


def row_dict(row: Any, exclude: tuple[str, ...] = ("tenant_id",)) -> dict[str, Any]:
    out = {}
    for name in row._meta.db_fields:
        if name in exclude:
            continue
        value = getattr(row, name, None)
        out[name] = value.isoformat() if isinstance(value, (date, datetime)) else str(value) if isinstance(value, UUID) else value
    return out


def record_ids(decisions, *dispositions: Disposition) -> list[str]:
    """The ids of the records decided one of ``dispositions``."""
    return [ref.record_id for ref, d in decisions if d.disposition in dispositions]
