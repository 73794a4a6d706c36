"""``seva billing run --as-of DATE [--tenant ID] [--dry-run]``: the billing jobs for a date, on
demand. A dry run reports and writes nothing; a real run does the work once; a second real run
for the same date does nothing."""

from __future__ import annotations

from datetime import timedelta

from seva_crm.core.billing.run import billing_run
from seva_crm.core.common.enums import SubscriptionStatus
from seva_crm.core.models import AuditEvent, BillingReminder, Invoice, Message, Subscription
from tests.billing_helpers import customer, subscription
from tests.test_cli import seva  # noqa: F401 - a fixture


async def state(tenant_id):
    return (await Invoice.filter(tenant_id=tenant_id).count(), await BillingReminder.filter(tenant_id=tenant_id).count(),
            await Message.filter(tenant_id=tenant_id).count(), await AuditEvent.filter(tenant_id=tenant_id).count(),
            sorted(await Subscription.filter(tenant_id=tenant_id).values_list("status", flat=True)))


async def test_dry_run_then_run_then_nothing_left_to_do(tenant, make_tenant):
    other = await make_tenant()
    c = await customer(tenant.scope, phone="9876500601")
    sub = await subscription(tenant.scope, customer=c, grace_days=1)  # its first invoice is due today and stays unpaid
    bystander = await subscription(other.scope)
    first = await Invoice.get(subscription_id=sub.id)
    day = first.due_on + timedelta(days=3)  # overdue, past grace: past due, then suspended, and reminded
    before = await state(tenant.id)

    dry = await billing_run(day, tenant.id, dry_run=True)
    assert [(d.step, d.what) for d in dry if d.id in (sub.id, first.id)] == [
        ("overdue", "past_due"), ("suspensions", "suspended"), ("reminders", "overdue")]
    assert await state(tenant.id) == before  # nothing written, nothing queued

    done = await billing_run(day, tenant.id)
    assert [(d.step, d.id, d.what) for d in done] == [(d.step, d.id, d.what) for d in dry]
    await sub.refresh_from_db()
    assert sub.status is SubscriptionStatus.SUSPENDED
    assert await Message.filter(tenant_id=tenant.id, customer_id=c.id, template="invoice_overdue").count() == 1
    assert await Message.filter(tenant_id=tenant.id, customer_id=c.id, template="subscription_suspended").count() == 1
    await bystander.refresh_from_db()
    assert bystander.status is SubscriptionStatus.ACTIVE  # --tenant: the other tenant was left alone

    after = await state(tenant.id)
    assert await billing_run(day, tenant.id) == []  # idempotent
    assert await state(tenant.id) == after


def test_the_command_line_reports_a_dry_run_and_refuses_a_bad_date(seva):  # noqa: F811
    out = seva("billing", "run", "--as-of", "2026-04-01", "--dry-run").stdout
    assert "dry run, nothing written: 0 change(s) for 2026-04-01" in out
    bad = seva("billing", "run", "--as-of", "1 April", check=False)
    assert bad.returncode != 0 and "--as-of" in bad.stderr


def test_the_pdf_command_refuses_a_language_it_cannot_print(seva, tmp_path):  # noqa: F811
    bad = seva("billing", "pdf", "00000000-0000-0000-0000-000000000001", "--out", str(tmp_path / "x.pdf"), "--language", "ta",
               check=False)
    assert bad.returncode != 0 and "--language" in bad.stderr and not (tmp_path / "x.pdf").exists()
    missing = seva("billing", "pdf", "00000000-0000-0000-0000-000000000001", "--out", str(tmp_path / "x.pdf"), "--language", "HI",
                   check=False)
    assert missing.returncode != 0 and "no invoice" in missing.stderr  # the language was taken; the invoice is not there
