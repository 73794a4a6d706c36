"""Erasure when the purpose is served: a tenant that published how long it keeps a customer after
their last service (the region policy's service_retention_days) has the daily sweep tell each
customer whose service is done 48 hours before, then erase them; what the law keeps (a paid
service, for GST) stays, anonymised. A customer with a service open, money owed, consent beyond
service, recent activity, or at a tenant that set no period, is left alone."""

from __future__ import annotations

from datetime import timedelta

from seva_crm.core import jobs
from seva_crm.core.billing import invoices as billing_invoices
from seva_crm.core.common.enums import Region
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.common.security import utcnow
from seva_crm.core.models import Customer, Message, PrivacyRequest, ServiceRecord
from seva_crm.core.privacy.purpose_served import sweep
from tests.jobs_support import drain, inprocess_jobs  # noqa: F401 - a fixture
from tests.test_consent import grant, publish
from tests.test_customers import create
from tests.test_privacy_requests import privacy_jobs  # noqa: F401 - a fixture
from tests.test_service_records import add

YEAR = timedelta(days=365)
SET_RETENTION = ('mutation($p: String!, $s: JSON) { pluginSettingsUpdate(plugin: $p, enabled: true, settings: $s) '
                 '{ errors { field code message } } }')


async def served_customer(api, name, phone, now, *, ago=YEAR + timedelta(days=10), status="delivered", fee=0):
    """A customer whose one service record has ``status``, untouched for ``ago``."""
    gid = (await create(api, name=name, phone=phone))["customer"]["id"]
    record = (await add(api, gid, f"Ration card for {name}", feeAmount=fee))["serviceRecord"]
    cid = from_global_id(gid, "Customer")
    await ServiceRecord.filter(id=from_global_id(record["id"], "ServiceRecord")).update(status=status, updated_at=now - ago)
    await Customer.filter(id=cid).update(updated_at=now - ago)
    return gid, cid


async def test_customers_whose_purpose_is_served_are_told_then_erased(make_tenant):
    now = utcnow()
    centre = await make_tenant(name="Gupta Jan Seva Kendra")
    bad = await centre.api.ok(SET_RETENTION, p="dpdp", s={"serviceRetentionDays": 0})
    assert bad["pluginSettingsUpdate"]["errors"][0]["code"] == "INVALID"  # a period, or none
    assert (await centre.api.ok(SET_RETENTION, p="dpdp", s={"serviceRetentionDays": 365}))["pluginSettingsUpdate"]["errors"] == []
    elsewhere = await make_tenant(Region.BD, name="No Period Set")
    await publish(centre.api)
    done_gid, done = await served_customer(centre.api, "Ganga Prasad", "9876501601", now, fee=5000)
    _, still_open = await served_customer(centre.api, "Open Service", "9876501602", now, status="in_progress")
    _, owes = await served_customer(centre.api, "Still Owes", "9876501603", now)
    await billing_invoices.create_invoice(centre.scope, {"customer_id": owes, "lines": [{"description": "fee",
                                                                                         "unit_amount": 2000}]})
    offers_gid, offers = await served_customer(centre.api, "Wants Offers", "9876501604", now)
    assert (await grant(centre.api, offers_gid, "marketing"))["errors"] == []
    await Customer.filter(id=offers).update(updated_at=now - YEAR - timedelta(days=10))
    _, recent = await served_customer(centre.api, "Recent Visit", "9876501605", now, ago=timedelta(days=30))
    _, other = await served_customer(elsewhere.api, "Other Centre", "01712-345605", now)
    left_alone = [still_open, owes, offers, recent, other]

    await sweep(now)
    told = await Message.filter(template="privacy_purpose_served_notice", customer_id__in=[done, *left_alone])
    assert [m.customer_id for m in told] == [done]
    assert told[0].body.startswith("Gupta Jan Seva Kendra:") and "s.8(7)(a)" in told[0].body
    await sweep(now + timedelta(hours=1))  # told once
    assert await Message.filter(template="privacy_purpose_served_notice", customer_id=done).count() == 1
    await sweep(now + timedelta(hours=47))
    assert not await PrivacyRequest.exists(customer_id=done)  # not before the 48 hours

    counts = await sweep(now + timedelta(hours=49))
    assert counts["erasing"] == 1
    [request] = await PrivacyRequest.filter(customer_id=done)
    assert request.kind == "erasure" and request.filed_via == "purpose_served" and request.verification_method == "system"
    await drain(jobs.get_broker())
    stub = await Customer.get(id=done)
    assert stub.erased_at is not None and stub.phone is None and "Ganga" not in stub.name
    [kept] = await ServiceRecord.filter(customer_id=done)  # a paid service: GST keeps it, without the name
    assert kept.fee_amount == 5000 and kept.service_name == "Ration card for [erased]"
    assert (await PrivacyRequest.get(id=request.id)).status == "completed_with_retention"
    for cid in left_alone:
        assert (await Customer.get(id=cid)).erased_at is None
    assert not await PrivacyRequest.exists(customer_id__in=left_alone)
