"""Time is handled once: one clock (``utcnow``, pinned in tests), datetimes bound to queries in
UTC and never naive, and the tenant's own calendar for every monthly figure, checked across the
month boundary at +05:30 (Asia/Kolkata) and +06:00 (Asia/Dhaka)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from tortoise import connections

from seva_crm.core.billing import payments
from seva_crm.core.billing.clock import tenant_today
from seva_crm.core.billing.invoices import create_invoice
from seva_crm.core.billing.summary import billing_summary
from seva_crm.core.common.enums import Region
from seva_crm.core.common.security import decode_access_token, issue_access_token, utcnow
from seva_crm.core.models import Customer, Invoice, Payment, Refund
from seva_crm.core.storage.sqlite_backend import NaiveDatetimeError
from tests.billing_helpers import customer, plan, subscription
from tests.conftest import is_postgres

IST, BDT = timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=6))


@pytest.fixture
def still(clock):
    clock.tick = False
    return clock


def test_utcnow_reads_the_pinned_clock(still):
    still.set(datetime(2031, 7, 1, 0, 0, tzinfo=BDT))
    assert utcnow() == datetime(2031, 6, 30, 18, 0, tzinfo=UTC) and utcnow().tzinfo is not None
    still.advance(minutes=5)
    assert utcnow() == datetime(2031, 6, 30, 18, 5, tzinfo=UTC)


@pytest.mark.parametrize("at", [datetime(2019, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)])
def test_access_tokens_expire_by_our_clock_not_the_wall_clock(still, at):
    still.set(at)
    token, expires = issue_access_token({"sub": "someone"}, 15)
    assert decode_access_token(token)["sub"] == "someone"
    still.set(expires - timedelta(seconds=1))
    assert decode_access_token(token) is not None
    still.set(expires)
    assert decode_access_token(token) is None


async def test_auto_timestamps_read_the_same_clock(tenant, still):
    still.set(datetime(2030, 2, 3, 4, 5, 6, tzinfo=UTC))
    row = await Customer.create(tenant_id=tenant.id, name="Timed")
    assert (await Customer.get(id=row.id)).created_at == datetime(2030, 2, 3, 4, 5, 6, tzinfo=UTC)


async def test_an_aware_bound_compares_as_the_instant_it_is(tenant):
    c = await customer(tenant.scope)
    p = await plan(tenant.scope, amount=1000, tax_rate_bp=0)
    await subscription(tenant.scope, customer=c, plan=p)
    invoice = await Invoice.filter(tenant_id=tenant.id).first()
    received = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 01:30 on 11 March in India
    pay = await payments.record_payment(tenant.scope, invoice.id, {"amount": 100, "method": "cash", "received_at": received})
    bound = datetime(2026, 3, 11, 0, 0, tzinfo=IST)  # 10 March 18:30 UTC: before the payment
    assert await Payment.filter(id=pay.id, received_at__gte=bound).exists()
    assert not await Payment.filter(id=pay.id, received_at__lt=bound).exists()


async def test_a_naive_datetime_never_reaches_the_database(tenant):
    # through the models, Tortoise warns (an error in the tests: see pyproject's filterwarnings) ...
    with pytest.raises(RuntimeWarning, match="naive datetime"):
        await Customer.filter(tenant_id=tenant.id).update(updated_at=datetime(2026, 3, 1))
    if is_postgres():
        return
    # ... and SQLite's engine refuses one bound by hand
    with pytest.raises(NaiveDatetimeError):
        await connections.get("default").execute_query("SELECT ?", [datetime(2026, 3, 1)])
    rows = await connections.get("default").execute_query_dict("SELECT ? AS at", [datetime(2026, 3, 1, 5, 30, tzinfo=IST)])
    assert rows[0]["at"].startswith("2026-03-01 00:00:00+00:00")


@pytest.mark.parametrize(("region", "zone", "month_start"), [
    (Region.IN, IST, datetime(2026, 4, 1, tzinfo=IST)),  # also India's financial year
    (Region.BD, BDT, datetime(2026, 7, 1, tzinfo=BDT)),  # also Bangladesh's financial year
])
async def test_billing_summary_follows_the_tenants_month_across_the_boundary(make_tenant, still, region, zone, month_start):
    t = await make_tenant(region)
    before, after = month_start - timedelta(minutes=1), month_start + timedelta(minutes=1)
    still.set(before - timedelta(days=3))
    c = await customer(t.scope)
    monthly = await plan(t.scope, amount=60000, tax_rate_bp=0)
    sub = await subscription(t.scope, customer=c, plan=monthly)
    first = await Invoice.get(subscription_id=sub.id)
    await Invoice.filter(id=first.id).update(due_on=(before.astimezone(zone)).date())  # due on the month's last day
    # a paid invoice, paid a minute before midnight local time, refunded in part a minute after
    still.set(before)
    other = await create_invoice(t.scope, {"customer_id": c.id, "lines": [{"description": "Router", "unit_amount": 20000}]})
    paid = await payments.record_payment(t.scope, other.id, {"amount": 20000, "method": "cash"})
    assert await tenant_today(t.id) == before.astimezone(zone).date()
    still.set(after)
    refund = await payments.refund_payment(t.scope, paid.id, {"amount": 3000})
    late = await payments.record_payment(t.scope, first.id, {"amount": 7000, "method": "upi"})
    assert (await Refund.get(id=refund.id)).created_at == after and late.received_at == after
    assert await tenant_today(t.id) == month_start.date()

    last_month = await billing_summary(t.scope, now=before)  # the month's last minute, local time
    assert last_month.collected_this_month == 20000
    assert last_month.overdue == 0  # due today, not yet overdue
    assert last_month.dues_outstanding == 60000 - 7000  # what is owed is as of now: the refund asks for nothing back
    assert (last_month.mrr, last_month.active_subscriptions) == (60000, 1)

    this_month = await billing_summary(t.scope)  # the new month's first minute (the clock's now)
    assert this_month.collected_this_month == 7000 - 3000  # the UTC date is still the old month's last day
    assert this_month.overdue == 60000 - 7000  # due yesterday, local time
    assert this_month.dues_outstanding == 60000 - 7000
    assert (this_month.mrr, this_month.active_subscriptions) == (60000, 1)


@pytest.mark.parametrize(("region", "new_year"), [
    (Region.IN, datetime(2026, 3, 31, 18, 30, tzinfo=UTC)),  # 1 April 00:00 at +05:30
    (Region.BD, datetime(2026, 6, 30, 18, 0, tzinfo=UTC)),  # 1 July 00:00 at +06:00
])
async def test_invoice_numbers_restart_with_the_tenants_financial_year(make_tenant, still, region, new_year):
    """GST serials are unique within India's April-March year; Bangladesh's runs July-June. A
    minute before local midnight is the old year (2526 = FY 2025-26), midnight the new one."""
    t = await make_tenant(region)
    c = await customer(t.scope)
    line = {"customer_id": c.id, "lines": [{"description": "Visit", "unit_amount": 500}]}
    still.set(new_year - timedelta(minutes=1))
    last = [await create_invoice(t.scope, line) for _ in range(2)][-1]
    still.set(new_year)
    first = await create_invoice(t.scope, line)
    assert (last.number, first.number) == ("INV-2526-000002", "INV-2627-000001")
    assert len(first.number) <= 16
    assert (last.issued_on, first.issued_on) == ((new_year - timedelta(minutes=1)).date(), new_year.date() + timedelta(days=1))
