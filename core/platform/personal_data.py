"""The shape of a table that holds customers' personal data (a privacy source), shared by the
areas that own such tables (billing) and the privacy engine that reads them (``core.privacy``):
owners define sources with these, privacy collects them, so neither imports the other back."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
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

    # Optional: ``async def redact(tenant_id, customer_id, redactor: Redactor) -> int``, run by
    # erasure after ``apply``, removes the person's details copied into free text of the rows it
    # kept (an invoice line "Aadhaar update for Asha Devi"); returns how many rows it changed.


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


REDACTED = "[erased]"


class Redactor:
    """Finds a person's details copied into free text and replaces them with ``[erased]``: the
    full name and each part of it (whole words, any case), phone numbers with or without the
    country code, the email address and its local part, and identifiers given as ``extra``."""

    def __init__(self, name: str = "", phone: str | None = None, email: str | None = None, extra: Iterable[str] = ()) -> None:
        words: set[str] = set()
        if name.strip():
            words.add(name.strip())
            words |= {part for part in re.split(r"\W+", name) if len(part) >= 3}
        literals = {v for v in extra if v and len(v) >= 4}
        if phone:
            digits = re.sub(r"\D", "", phone)
            literals |= {phone, digits, digits[-10:]} if len(digits) >= 10 else {phone}
        if email:
            literals |= {email, email.split("@", 1)[0]} if len(email.split("@", 1)[0]) >= 4 else {email}
        alternatives = [re.escape(v) for v in sorted(literals, key=len, reverse=True)]
        alternatives += [rf"\b{re.escape(w)}\b" for w in sorted(words, key=len, reverse=True)]
        self._pattern = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None

    def __call__(self, text: str) -> str:
        if not self._pattern or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def value(self, value: Any) -> Any:
        """``value`` with every string inside it (lists and dicts too) redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value


async def redact_rows(queryset: Any, fields: Sequence[str], redactor: Redactor) -> int:
    """Redact ``fields`` of every row of ``queryset`` (a Tortoise queryset); rows changed."""
    changed = 0
    for row in await queryset:
        values = {f: redactor.value(getattr(row, f)) for f in fields}
        values = {f: v for f, v in values.items() if v != getattr(row, f)}
        if values:
            await type(row).filter(pk=row.pk).update(**values)
            changed += 1
    return changed
