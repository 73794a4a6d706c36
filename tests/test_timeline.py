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


EDIT = """mutation($id: ID!, $b: String!) { customerNoteEdit(id: $id, body: $b) { note { body updatedAt } errors { field code } } }"""
ADD = """mutation($c: ID!, $b: String!) { customerNoteAdd(customerId: $c, body: $b) { note { id body } errors { code } } }"""
NOTE_FEED = """query($since: String) { changes(since: $since, types: [NOTE]) { cursor changes { op id note { body } } } }"""


async def test_a_note_is_edited_by_its_author_or_an_admin_audited_and_in_the_timeline_and_feed(tenant):
    from seva_crm.core.models import CustomerNote, User
    from seva_crm.core.platform import audit
    from seva_crm.core.privacy import erasure
    from seva_crm.core.privacy.policy import tenant_policy
    from seva_crm.core.common.security import utcnow

    c = await customers.create_customer(tenant.scope, {"name": "Asha Devi", "phone": "9876500202"})
    cid = to_global_id("Customer", c.id)
    head = (await tenant.api.ok("{ changesHead }"))["changesHead"]
    author, other, admin = (await tenant.api_as(Role.AGENT), await tenant.api_as(Role.AGENT), await tenant.api_as(Role.ADMIN))
    note = (await author.ok(ADD, c=cid, b="Call after 6 pm"))["customerNoteAdd"]["note"]

    refused = await other.ok(EDIT, id=note["id"], b="Never call")
    assert refused["customerNoteEdit"] == {"note": None, "errors": [{"field": "id", "code": "FORBIDDEN"}]}
    edited = await author.ok(EDIT, id=note["id"], b="Call after 7 pm")
    assert edited["customerNoteEdit"]["note"]["body"] == "Call after 7 pm"
    assert (await admin.ok(EDIT, id=note["id"], b="Call after 8 pm, not Sundays"))["customerNoteEdit"]["errors"] == []
    empty = await author.ok(EDIT, id=note["id"], b="   ")
    assert empty["customerNoteEdit"]["errors"] == [{"field": "body", "code": "REQUIRED"}]
    viewer = await tenant.api_as(Role.VIEWER)
    assert (await viewer(EDIT, id=note["id"], b="x"))["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    timeline = (await tenant.api.ok(TIMELINE, c=cid))["customerTimeline"]["edges"]
    assert [e["node"]["summary"] for e in timeline if e["node"]["kind"] == "note"] == ["Call after 8 pm, not Sundays"]

    entries = await AuditEvent.filter(tenant_id=tenant.id, action="customer.note_edited").order_by("seq")
    row = await CustomerNote.get(customer_id=c.id)
    admin_user = await User.get(tenant_id=tenant.id, role=Role.ADMIN)
    assert [e.actor_id for e in entries] == [str(row.author_id), str(admin_user.id)]
    assert [(e.details["before"], e.details["after"]) for e in entries] == [
        (audit.personal("Call after 6 pm"), audit.personal("Call after 7 pm")),
        (audit.personal("Call after 7 pm"), audit.personal("Call after 8 pm, not Sundays"))]
    assert "Call after" not in str([e.details for e in entries])  # digests, never the text

    feed = (await tenant.api.ok(NOTE_FEED, since=head))["changes"]
    assert [(c["op"], c["note"]["body"]) for c in feed["changes"]] == [
        ("CREATED", "Call after 8 pm, not Sundays"), ("UPDATED", "Call after 8 pm, not Sundays"),
        ("UPDATED", "Call after 8 pm, not Sundays")]  # each change carries the note as it is now
    await erasure.erase_core(tenant.id, c.id, await tenant_policy(tenant.id), utcnow().date())
    after = (await tenant.api.ok(NOTE_FEED, since=feed["cursor"]))["changes"]["changes"]
    kept = await CustomerNote.filter(id=row.id).exists()  # the region's policy may keep service history, masked
    assert after == ([{"op": "UPDATED", "id": note["id"], "note": {"body": ""}}] if kept else
                     [{"op": "DELETED", "id": note["id"], "note": None}])  # erased: no text left on any front end
