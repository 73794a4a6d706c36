"""Erasure after inactivity (India, large platforms: three years, told 48 hours before): the
daily sweep tells the inactive customer, then erases them through the erasure request; a
customer who came back, or a tenant the rule does not apply to, is left alone."""

from __future__ import annotations

from datetime import timedelta

from seva_crm.core import jobs
from seva_crm.core.common.enums import Region
from seva_crm.core.models import Customer, Message, PluginSettings, PrivacyRequest
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.common.security import utcnow
from seva_crm.core.privacy.inactivity import sweep
from tests.jobs_support import drain, inprocess_jobs  # noqa: F401 - a fixture
from tests.test_customers import create
from tests.test_privacy_requests import privacy_jobs  # noqa: F401 - a fixture

THREE_YEARS = timedelta(days=3 * 365)


async def idle_customer(api, name, phone, now, *, idle=THREE_YEARS + timedelta(days=1)):
    gid = (await create(api, name=name, phone=phone))["customer"]["id"]
    cid = from_global_id(gid, "Customer")
    await Customer.filter(id=cid).update(updated_at=now - idle)
    return cid


async def test_inactive_customers_are_told_then_erased(make_tenant):
    now = utcnow()
    big = await make_tenant(name="Big Bazaar Online")
    await PluginSettings.create(tenant_id=big.id, plugin_id="dpdp", values={"large_platform": True})
    small = await make_tenant(name="Small Shop")
    await make_tenant(Region.BD)  # a policy without an inactivity rule at all
    gone = await idle_customer(big.api, "Long Gone", "9876501301", now)
    back = await idle_customer(big.api, "Came Back", "9876501302", now)
    recent = await idle_customer(big.api, "Recent", "9876501303", now, idle=timedelta(days=30))
    elsewhere = await idle_customer(small.api, "Other Shop Idle", "9876501304", now)

    await sweep(now)
    told = {m.customer_id: m for m in await Message.filter(template="privacy_inactivity_notice",
                                                              customer_id__in=[gone, back, recent, elsewhere])}
    assert set(told) == {gone, back}
    assert told[gone].body.startswith("Big Bazaar Online:") and "Rule 8" in told[gone].body
    await sweep(now + timedelta(hours=1))  # told once
    assert await Message.filter(template="privacy_inactivity_notice", customer_id=gone).count() == 1

    await Customer.filter(id=back).update(updated_at=now + timedelta(hours=2))  # they visited
    await sweep(now + timedelta(hours=47))
    assert not await PrivacyRequest.exists(customer_id=gone)  # not before the 48 hours
    counts = await sweep(now + timedelta(hours=49))
    assert counts["erasing"] == 1
    [request] = await PrivacyRequest.filter(customer_id=gone)
    assert request.kind == "erasure" and request.filed_via == "inactivity" and request.verification_method == "system"
    await drain(jobs.get_broker())
    assert (await Customer.get(id=gone)).erased_at is not None
    assert (await Customer.get(id=back)).erased_at is None and (await Customer.get(id=recent)).erased_at is None
    assert (await Customer.get(id=elsewhere)).erased_at is None
    assert not await PrivacyRequest.exists(customer_id__in=[back, recent, elsewhere])
