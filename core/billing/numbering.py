"""Gapless, per-tenant invoice numbers: ``INV-2526-000123`` (prefix from the tenant's billing
settings, the financial year of issue, a counter that restarts each financial year). India's
year runs April to March (GST, CGST Rules rule 46(b): a serial of at most 16 letters, digits,
"-" or "/", unique within the financial year), Bangladesh's July to June; both in the tenant's
local calendar. ``2526`` is FY 2025-26; the counter row's ``year`` is the year it began (2025).

The counter row for (tenant, year) is locked with SELECT ... FOR UPDATE inside the transaction
that writes the invoice: concurrent creators queue on the lock, each takes the next number, and
a rolled-back invoice gives its number back. SQLite serialises writers anyway."""

from __future__ import annotations

from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from seva_crm.core.common.tax_ids import fy_label
from seva_crm.core.models import InvoiceCounter


async def ensure_counter(tenant_id: UUID, year: int) -> None:
    """Create the (tenant, year) counter if missing, outside the invoice's transaction, so that a
    lost creation race is harmless (the insert is skipped on conflict)."""
    if not await InvoiceCounter.exists(tenant_id=tenant_id, year=year):
        await InvoiceCounter.bulk_create([InvoiceCounter(tenant_id=tenant_id, year=year)], ignore_conflicts=True)


async def take_number(conn: BaseDBAsyncClient, tenant_id: UUID, year: int, prefix: str) -> str:
    """The next number. Call inside the transaction ``conn`` that saves the invoice."""
    counter = await InvoiceCounter.select_for_update().using_db(conn).get(tenant_id=tenant_id, year=year)
    counter.last_number += 1
    await counter.save(using_db=conn, update_fields=["last_number"])
    return format_number(prefix, year, counter.last_number)


def format_number(prefix: str, year: int, n: int) -> str:
    """``year``: the financial year's first year; 16 characters with a prefix of 4."""
    return f"{prefix}-{fy_label(year)}-{n:06d}"
