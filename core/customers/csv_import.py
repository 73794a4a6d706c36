"""Bulk import of customers from CSV: every row checked first, then all valid rows written in
one transaction, so a failure part-way leaves nothing behind. Row numbers are the file's lines
(the header is row 1)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from uuid import UUID

from tortoise.transactions import in_transaction

from seva_crm.core.common import audit
from seva_crm.core.customers import customers
from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.models import Customer, CustomerTag, Tenant
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.platform.channel_catalog import tenant_channels

COLUMNS = {"name", "phone", "email", "address", "date_of_birth", "preferred_channel", "language", "tags", "notes"}
ALIASES = {"dob": "date_of_birth", "birth_date": "date_of_birth", "channel": "preferred_channel", "mobile": "phone"}
MAX_ROWS = 100_000
BATCH = 1000


@dataclass(frozen=True)
class RowError:
    row: int
    field: str | None
    code: ErrorCode
    message: str

    def describe(self) -> str:
        return f"row {self.row}: {self.field + ': ' if self.field else ''}{self.message}"


@dataclass
class ImportResult:
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def failed_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})


Progress = Callable[[int], None]


def _header(names: list[str]) -> tuple[list[str], list[RowError]]:
    keys = [ALIASES.get(k, k) for k in (n.strip().lower().replace(" ", "_") for n in names)]
    errors = [RowError(1, k, ErrorCode.INVALID, f"unknown column {k!r}") for k in keys if k not in COLUMNS]
    if "name" not in keys:
        errors.append(RowError(1, "name", ErrorCode.REQUIRED, "a 'name' column is required"))
    return keys, errors


def _row_values(raw: dict[str, str]) -> dict:
    data: dict = {k: v.strip() for k, v in raw.items() if k in COLUMNS and v is not None and v.strip()}
    data.setdefault("name", "")
    if "date_of_birth" in data:
        try:
            data["date_of_birth"] = date.fromisoformat(data["date_of_birth"])
        except ValueError:
            raise DomainError.of("dateOfBirth", ErrorCode.INVALID, "use YYYY-MM-DD") from None
    if "tags" in data:
        data["tags"] = [t for t in data["tags"].replace("|", ";").split(";")]
    if "language" in data:
        data["language"] = data["language"].lower()
    return data


async def import_csv(tenant: TenantScope, text: str, progress: Progress | None = None) -> ImportResult:
    result = ImportResult()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        result.errors.append(RowError(1, None, ErrorCode.REQUIRED, "the file is empty"))
        return result
    keys, header_errors = _header(header)
    if header_errors:
        result.errors.extend(header_errors)
        return result

    channels = await tenant_channels(tenant.id)
    valid: list[tuple[int, dict]] = []
    seen_phones: dict[str, int] = {}
    for index, cells in enumerate(reader, start=2):
        if index - 1 > MAX_ROWS:
            result.errors.append(RowError(index, None, ErrorCode.INVALID, f"at most {MAX_ROWS} rows per import"))
            break
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(keys):
            result.errors.append(RowError(index, None, ErrorCode.INVALID, f"expected {len(keys)} cells, found {len(cells)}"))
            continue
        try:
            values = customers.clean(_row_values(dict(zip(keys, cells))), tenant, channels=channels)
        except DomainError as exc:
            result.errors.extend(RowError(index, e.field, e.code, e.message) for e in exc.errors)
            continue
        phone = values.get("phone")
        if phone and phone in seen_phones:
            result.errors.append(RowError(index, "phone", ErrorCode.DUPLICATE, f"same phone as row {seen_phones[phone]}"))
            continue
        if phone:
            seen_phones[phone] = index
        valid.append((index, values))
        if progress and index % BATCH == 0:
            progress(BATCH // 2)

    existing = await _existing_phones(tenant.id, list(seen_phones))
    rows = []
    for index, values in valid:
        if (phone := values.get("phone")) in existing:
            name, id = existing[phone]
            err = customers.duplicate_phone(name, id).errors[0]
            result.errors.append(RowError(index, err.field, err.code, err.message))
        else:
            rows.append(values)

    async with in_transaction():
        for start in range(0, len(rows), BATCH):
            batch = [Customer(tenant_id=tenant.id, **values) for values in rows[start:start + BATCH]]
            await Customer.bulk_create(batch)
            tags = [CustomerTag(tenant_id=tenant.id, customer_id=c.id, tag=t) for c in batch for t in c.tags]
            if tags:
                await CustomerTag.bulk_create(tags)
            if progress:
                progress(len(batch) // 2)
        if rows:
            await audit.record(tenant.id, "customer.imported", subject_type="customer", details={"count": len(rows)})
    result.imported = len(rows)
    result.errors.sort(key=lambda e: e.row)
    return result


async def _existing_phones(tenant_id: UUID, phones: list[str]) -> dict[str, tuple[str, UUID]]:
    found: dict[str, tuple[str, UUID]] = {}
    for start in range(0, len(phones), BATCH):
        rows = await Customer.filter(tenant_id=tenant_id, phone__in=phones[start:start + BATCH]).values_list("phone", "name", "id")
        found.update({phone: (name, id) for phone, name, id in rows})
    return found


async def import_file(tenant_id: UUID, path: Path) -> ImportResult:
    """The CLI's import, with a progress bar."""
    from rich.progress import Progress as Bar

    tenant = await Tenant.get_or_none(id=tenant_id)
    if tenant is None:
        raise NotFound("tenant", "tenant")
    text = path.read_text(encoding="utf-8-sig")
    total = max(text.count("\n"), 1)
    with Bar(transient=True) as bar:
        task = bar.add_task("importing", total=total)
        result = await import_csv(TenantScope(tenant.id, tenant.region), text, lambda n: bar.advance(task, n))
    return result
