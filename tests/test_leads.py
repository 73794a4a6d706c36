"""Leads and the pipeline: stages per tenant in order, owner, expected value, next action,
conversion to a customer keeping the lead's history, and a summary by stage."""

from seva_crm.core.common.enums import Role
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.customers import customers
from seva_crm.core.models import AuditEvent, CustomerNote, User

CREATE = """mutation($input: LeadCreateInput!) { leadCreate(input: $input) {
  lead { id stage source value { amount currency } nextAction ownerId } errors { field code message } } }"""
UPDATE = """mutation($id: ID!, $input: LeadUpdateInput!) { leadUpdate(id: $id, input: $input) { lead { stage } errors { field code } } }"""
CONVERT = """mutation($id: ID!, $c: ID) { leadConvert(id: $id, customerId: $c) {
  lead { convertedAt customer { id name phone tags } } errors { field code message } } }"""
SUMMARY = "{ pipelineSummary { stage count totals { amount currency } } }"


async def test_a_lead_moves_through_the_pipeline_and_the_summary_adds_up(tenant):
    agent = await tenant.api_as(Role.AGENT)
    me = await User.get(tenant_id=tenant.id, role="agent")
    a = (await agent.ok(CREATE, input={"name": "Ward 5 school", "source": "Walk-in", "valueAmount": 1200000,
                                       "nextAction": "Send a quote", "nextActionAt": "2026-03-12T05:00:00+00:00",
                                       "ownerId": to_global_id("User", me.id)}))["leadCreate"]
    assert a["errors"] == [] and (a["lead"]["stage"], a["lead"]["source"]) == ("new", "walk-in")
    assert a["lead"]["value"] == {"amount": 1200000, "currency": "INR"}
    await agent.ok(CREATE, input={"name": "Sharma Traders", "valueAmount": 300000})
    moved = await agent.ok(UPDATE, id=a["lead"]["id"], input={"stage": "Proposal"})
    assert moved["leadUpdate"]["lead"]["stage"] == "proposal"
    summary = {s["stage"]: s for s in (await agent.ok(SUMMARY))["pipelineSummary"]}
    assert list(summary) == ["new", "contacted", "qualified", "proposal", "won", "lost"]
    assert summary["new"] == {"stage": "new", "count": 1, "totals": [{"amount": 300000, "currency": "INR"}]}
    assert summary["proposal"]["count"] == 1 and summary["proposal"]["totals"] == [{"amount": 1200000, "currency": "INR"}]
    bad = await agent.ok(UPDATE, id=a["lead"]["id"], input={"stage": "maybe"})
    assert bad["leadUpdate"]["errors"] == [{"field": "stage", "code": "INVALID"}]
    assert await AuditEvent.filter(tenant_id=tenant.id, action="lead.updated").count() == 1


async def test_stages_are_the_tenants_own_in_order(tenant):
    done = await tenant.api.ok("""mutation { leadStagesSet(stages: ["Enquiry", "Visit", "Booked"]) { stages errors { code } } }""")
    assert done["leadStagesSet"]["stages"] == ["enquiry", "visit", "booked"]
    lead = (await tenant.api.ok(CREATE, input={"name": "Rahim"}))["leadCreate"]["lead"]
    assert lead["stage"] == "enquiry"
    agent = await tenant.api_as(Role.AGENT)
    refused = await agent("""mutation { leadStagesSet(stages: ["a", "b"]) { stages } }""")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_conversion_makes_a_customer_and_keeps_the_history(tenant):
    lead = (await tenant.api.ok(CREATE, input={"name": "Meena Kumari", "phone": "98765 00301", "source": "facebook",
                                               "notes": "Wants a broadband plan"}))["leadCreate"]["lead"]
    converted = (await tenant.api.ok(CONVERT, id=lead["id"]))["leadConvert"]
    assert converted["errors"] == []
    customer = converted["lead"]["customer"]
    assert (customer["name"], customer["phone"], customer["tags"]) == ("Meena Kumari", "+919876500301", ["lead"])
    [note] = await CustomerNote.filter(tenant_id=tenant.id)
    assert note.body == "From lead (facebook): Wants a broadband plan"
    again = (await tenant.api.ok(CONVERT, id=lead["id"]))["leadConvert"]
    assert again["errors"][0]["code"] == "INVALID"
    summary = {s["stage"]: s["count"] for s in (await tenant.api.ok(SUMMARY))["pipelineSummary"]}
    assert summary["new"] == 0  # converted leads leave the open pipeline


async def test_a_lead_whose_phone_is_a_customers_links_to_that_customer(tenant):
    known = await customers.create_customer(tenant.scope, {"name": "Karim", "phone": "9876500302"})
    lead = (await tenant.api.ok(CREATE, input={"name": "Karim Uddin", "phone": "9876500302"}))["leadCreate"]["lead"]
    refused = (await tenant.api.ok(CONVERT, id=lead["id"]))["leadConvert"]
    assert refused["errors"][0]["code"] == "DUPLICATE" and "Karim" in refused["errors"][0]["message"]
    linked = (await tenant.api.ok(CONVERT, id=lead["id"], c=to_global_id("Customer", known.id)))["leadConvert"]
    assert linked["lead"]["customer"]["id"] == to_global_id("Customer", known.id)
    other = await tenant.api_as(Role.VIEWER)
    assert (await other(CREATE, input={"name": "x"}))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
