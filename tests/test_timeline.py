"""The customer timeline: services, messages both ways, invoices, payments, tickets, consents and
notes in one list, newest first, paged without gaps."""

from seva_crm.core.billing import invoices, payments
from seva_crm.core.common.enums import Role
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.crm import tickets
from seva_crm.core.customers import customers, service_records
from seva_crm.core.messaging.messages import send_template
from seva_crm.core.messaging.provider_reports import record_inbound
from seva_crm.core.models import AuditEvent
from tests.test_consent import grant, publish

TIMELINE = """query($c: ID!, $after: String) { customerTimeline(customerId: $c, first: 3, after: $after) {
  edges { node { kind summary amount { amount currency } } } pageInfo { hasNextPage endCursor } } }"""
NOTE = """mutation($c: ID!, $b: String!) { customerNoteAdd(customerId: $c, body: $b) { note { body } errors { field code } } }"""


async def test_everything_about_a_customer_in_time_order_paged(tenant):
    c = await customers.create_customer(tenant.scope, {"name": "Asha Devi", "phone": "9876500201"})
    cid = to_global_id("Customer", c.id)
    await service_records.create_service_record(tenant.scope, c.id, {"service_name": "PAN card", "fee_amount": 10700})
    await send_template(tenant.scope, c.id, "document_ready", {"service": "PAN card", "centre": "Test Centre"})
    await record_inbound(tenant.id, "whatsapp", sender="+919876500201", provider_id="wamid.1", body="Thank you!")
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [
        {"description": "PAN card", "quantity": 1, "unit_amount": 10700}]})
    await payments.record_payment(tenant.scope, invoice.id, {"amount": 10700, "method": "cash"})
    await tickets.create_ticket(tenant.scope, c.id, {"subject": "Wrong spelling on card"})
    await publish(tenant.api)
    await grant(tenant.api, cid)
    added = await tenant.api.ok(NOTE, c=cid, b="Prefers calls after 6 pm")
    assert added["customerNoteAdd"]["errors"] == []

    kinds, after = [], None
    while True:
        page = (await tenant.api.ok(TIMELINE, c=cid, after=after))["customerTimeline"]
        kinds += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [k["kind"] for k in kinds] == ["note", "consent", "ticket", "payment", "invoice", "inbound_message", "message",
                                          "service_record"]
    assert kinds[0]["summary"] == "Prefers calls after 6 pm"
    assert kinds[3]["amount"] == {"amount": 10700, "currency": "INR"}
    assert kinds[5]["summary"] == "whatsapp: Thank you!"
    assert kinds[2]["summary"] == "ticket #1 Wrong spelling on card: open"
    assert await AuditEvent.filter(tenant_id=tenant.id, action="customer.note_added").exists()


async def test_other_tenants_and_viewers(tenant, make_tenant):
    c = await customers.create_customer(tenant.scope, {"name": "Ravi"})
    cid = to_global_id("Customer", c.id)
    other = await make_tenant()
    assert (await other.api.ok(TIMELINE, c=cid))["customerTimeline"] is None
    assert (await other.api.ok(NOTE, c=cid, b="x"))["customerNoteAdd"]["errors"] == [{"field": "customerId", "code": "NOT_FOUND"}]
    viewer = await tenant.api_as(Role.VIEWER)
    assert (await viewer.ok(TIMELINE, c=cid))["customerTimeline"]["edges"] == []
    assert (await viewer(NOTE, c=cid, b="x"))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await tenant.api(TIMELINE, c=cid, after="not-a-cursor")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # a typed error, not a 500
