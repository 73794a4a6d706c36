"""Retention dates are enforced: the daily job erases what an erasure kept once the law's date
has passed (traffic logs and consent proof after a year, tax records after GST's 72 months),
and keeps what is still within its period."""

from datetime import timedelta

from seva_crm.core.customers.customers import create_customer
from seva_crm.core.customers.service_records import create_service_record
from seva_crm.core.models import AuditEvent, Message, ServiceRecord
from seva_crm.core.privacy.erasure import erase_core
from seva_crm.core.privacy.kept_records import erase_expired
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.common.security import utcnow


async def test_kept_records_are_erased_when_their_date_passes(tenant):
    customer = await create_customer(tenant.scope, {"name": "Gita Roy", "phone": "9876512345"})
    record = await create_service_record(tenant.scope, customer.id, {"service_name": "PAN card", "fee_amount": 10700})
    await Message.create(tenant_id=tenant.id, customer_id=customer.id, purpose="service", template="t", body="Dear Gita",
                         status="delivered", idempotency_key=f"kept-{customer.id}")
    now = utcnow()
    entries = await erase_core(tenant.id, customer.id, await tenant_policy(tenant.id), now.date())
    kept = {e["table"]: e["retain_until"] for e in entries if e["disposition"] == "retain"}
    assert set(kept) >= {"service_record", "message"}

    assert [d for d in await erase_expired(now) if d["customer_id"] == customer.id] == []  # nothing due yet
    assert await Message.filter(customer_id=customer.id).exists() and await ServiceRecord.filter(id=record.id).exists()

    after_logs = now + timedelta(days=400)  # past the one-year log retention, within GST's 72 months
    [done] = [d for d in await erase_expired(after_logs) if d["customer_id"] == customer.id]
    assert done["erased"] == {"message": 1}
    assert not await Message.filter(customer_id=customer.id).exists() and await ServiceRecord.filter(id=record.id).exists()

    after_tax = now + timedelta(days=365 * 8)
    [done] = [d for d in await erase_expired(after_tax) if d["customer_id"] == customer.id]
    assert done["erased"] == {"service_record": 1}
    assert not await ServiceRecord.filter(id=record.id).exists()
    events = await AuditEvent.filter(tenant_id=tenant.id, action="retention.kept_records_erased").order_by("seq")
    assert [e.details["erased"] for e in events] == [{"message": 1}, {"service_record": 1}]
