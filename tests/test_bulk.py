"""``core.storage.bulk``: many rows into tables at once, inside the caller's transaction, read back
by the ORM as if it had written them; a broken constraint is Tortoise's IntegrityError and
leaves nothing behind."""

from datetime import date, datetime, timedelta, timezone
from itertools import islice
from uuid import UUID

import pytest
from tortoise.exceptions import IntegrityError

from seva_crm.core.common.ids import ordered_uuid_texts
from seva_crm.core.customers.csv_import import CUSTOMER_COLUMNS
from seva_crm.core.models import Customer, CustomerTag
from seva_crm.core.storage import bulk
from seva_crm.core.storage.transactions import transaction

TAG_COLUMNS = ("tenant_id", "customer_id", "tag", "customer_created_at")
AT = datetime(2026, 3, 31, 18, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))  # 13:00 UTC


def customer_rows(tenant_id, count: int) -> list[tuple]:
    ids = [UUID(t) for t in islice(ordered_uuid_texts(AT), count)]  # rows may hold UUIDs as well as text
    return [(ids[i], tenant_id, AT, AT, f"Person {i}", f"+9197{i:08d}", None, "", date(1990, 1, 1) if i % 2 else None, "",
             "hi", '["vip"]', "", "[]", "prsn", ids[0] if i == count - 1 else None) for i in range(count)]


@pytest.fixture(autouse=True)
def small_statements(monkeypatch):
    """SQLite statements of 1,000 customer rows (16 values each) at most, so a few thousand rows take several."""
    monkeypatch.setattr(bulk, "_max_values", lambda: 16_000)


async def test_rows_past_one_statement_read_back_as_the_orm_stores_them(tenant):
    rows = customer_rows(tenant.id, 4500)  # five SQLite statements
    tags = [(tenant.id, row[0], "vip", AT) for row in rows]
    async with transaction():
        await bulk.insert_all([("customer", CUSTOMER_COLUMNS, rows), ("customer_tag", TAG_COLUMNS, tags)])
    saved = await Customer.filter(tenant_id=tenant.id).order_by("id")
    assert [c.name for c in saved] == [f"Person {i}" for i in range(4500)]
    first, second, last = saved[0], saved[1], saved[-1]
    assert first.created_at == AT and first.created_at.utcoffset() == timedelta(0)  # stored in UTC
    assert (first.date_of_birth, second.date_of_birth) == (None, date(1990, 1, 1))
    assert first.tags == ["vip"] and first.language == "hi" and first.email is None
    assert last.household_contact_id == first.id
    assert await CustomerTag.filter(tenant_id=tenant.id, tag="vip", customer_created_at=AT).count() == 4500


async def test_a_broken_constraint_is_an_integrity_error_and_nothing_stays(tenant):
    rows = customer_rows(tenant.id, 3000)
    clash = rows[2999][:5] + (rows[0][5],) + rows[2999][6:]  # the last row, in the third statement, repeats a phone
    with pytest.raises(IntegrityError):
        async with transaction():
            await bulk.insert_all([("customer", CUSTOMER_COLUMNS, [*rows[:2999], clash])])
    assert await Customer.filter(tenant_id=tenant.id).count() == 0


async def test_bulk_writes_only_inside_a_transaction(tenant):
    with pytest.raises(RuntimeError, match="inside a transaction"):
        await bulk.insert("customer", CUSTOMER_COLUMNS, customer_rows(tenant.id, 1))


async def test_ids_as_text_and_as_uuids_mix_in_one_column(tenant):
    """An import passes its ids as text; a change feed's rows may hold both forms in one column."""
    rows = customer_rows(tenant.id, 4)
    text_first = [(str(r[0]), *r[1:]) for r in rows[:2]] + rows[2:]  # the column's first values are text, then UUIDs
    tags = [(tenant.id, rows[0][0], "a", AT), (str(tenant.id), str(rows[1][0]), "b", AT)]
    async with transaction():
        await bulk.insert_all([("customer", CUSTOMER_COLUMNS, text_first), ("customer_tag", TAG_COLUMNS, tags)])
    saved = await Customer.filter(tenant_id=tenant.id).order_by("id").values_list("id", flat=True)
    assert saved == [r[0] for r in rows]
    assert await CustomerTag.filter(tenant_id=tenant.id).order_by("tag").values_list("customer_id", flat=True) == \
        [rows[0][0], rows[1][0]]
