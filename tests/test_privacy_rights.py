"""Rights as the regions grant them: an objection in Bangladesh (not in India), answered to the
subject; a nominee read back after a nomination."""

from __future__ import annotations

from seva_crm.core.common.enums import Region
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.models import Message
from tests.test_customers import create
from tests.test_privacy_replies import CONTACT, decided
from tests.test_privacy_requests import COMPLETE, file, privacy_jobs  # noqa: F401 - a fixture
from tests.jobs_support import inprocess_jobs  # noqa: F401 - a fixture

NOMINEE = 'query($id: ID!) { privacyRequest(id: $id) { type status nominee { name relation contact } } }'


async def test_an_objection_in_bangladesh_is_answered_and_india_has_none(make_tenant, tenant):
    bd = await make_tenant(Region.BD, name="Chowdhury Net")
    await bd.api.ok(CONTACT)
    policy = await bd.api.ok("{ privacyPolicy { requestTypes { type statutory citation } } }")
    [rule] = [r for r in policy["privacyPolicy"]["requestTypes"] if r["type"] == "OBJECTION"]
    assert rule["statutory"] and "s.13" in rule["citation"]
    customer = (await create(bd.api, name="Nasrin", phone="01712-346001"))["customer"]
    objection = await decided(bd.api, customer["id"], "OBJECTION", details="stop sharing my number with partners")
    blank = await bd.api.ok(COMPLETE, id=objection["id"], input={})
    assert blank["privacyRequestComplete"]["errors"][0]["field"] == "response"
    done = await bd.api.ok(COMPLETE, id=objection["id"], input={"response": "We stopped sharing your number."})
    assert done["privacyRequestComplete"]["privacyRequest"]["status"] == "COMPLETED"
    reply = await Message.get(customer_id=from_global_id(customer["id"], "Customer"), template="privacy_reply_answered")
    assert "We stopped sharing your number." in reply.body and reply.body.startswith("Chowdhury Net:")

    indian = (await create(tenant.api, name="Objector", phone="9876501101"))["customer"]
    refused = await file(tenant.api, indian["id"], "OBJECTION")
    assert refused["errors"][0]["field"] == "type" and "DPDP" in refused["errors"][0]["message"]


async def test_a_nominee_is_read_back(tenant):
    await tenant.api.ok(CONTACT)
    customer = (await create(tenant.api, name="Elderly Person", phone="9876501102"))["customer"]
    nomination = await decided(tenant.api, customer["id"], "NOMINATION")
    assert (await tenant.api.ok(NOMINEE, id=nomination["id"]))["privacyRequest"]["nominee"] is None
    await tenant.api.ok(COMPLETE, id=nomination["id"],
                        input={"nominee": {"name": "Anil", "relation": "son", "contact": "+91 98765 01199"}})
    read = (await tenant.api.ok(NOMINEE, id=nomination["id"]))["privacyRequest"]
    assert read == {"type": "NOMINATION", "status": "COMPLETED",
                    "nominee": {"name": "Anil", "relation": "son", "contact": "+91 98765 01199"}}
