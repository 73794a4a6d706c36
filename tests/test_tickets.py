"""Support tickets: SLA deadlines, comments to the customer through the outbox, status
notifications, and an ISP's incident fanning out to every affected subscriber."""

from datetime import timedelta

from seva_crm.core.common.enums import Role
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.customers import customers
from seva_crm.core.models import AuditEvent, Message, Ticket

FIELDS = "id number subject status priority firstResponseDueAt resolutionDueAt firstRespondedAt firstResponseOverdue resolutionOverdue"
CREATE = f"""mutation($input: TicketCreateInput!) {{ ticketCreate(input: $input) {{ ticket {{ {FIELDS} }} errors {{ field code }} }} }}"""
UPDATE = """mutation($id: ID!, $input: TicketUpdateInput!) {
  ticketUpdate(id: $id, input: $input) { ticket { status resolvedAt } errors { field code } } }"""
COMMENT = """mutation($id: ID!, $body: String!, $internal: Boolean!) {
  ticketComment(ticketId: $id, body: $body, internal: $internal) { comment { body internal } errors { field code } } }"""
INCIDENT = """mutation($input: IncidentCreateInput!) {
  incidentCreate(input: $input) {
    ticket { id isIncident affected { edges { node { customer { name } status } } } } errors { field code } } }"""


async def subscriber(tenant, name, phone):
    return await customers.create_customer(tenant.scope, {"name": name, "phone": phone})


async def open_ticket(tenant, customer, **extra):
    data = await tenant.api.ok(CREATE, input={"customerId": to_global_id("Customer", customer.id), "subject": "No internet",
                                              "category": "outage", **extra})
    return data["ticketCreate"]


async def test_deadlines_come_from_the_tenants_sla_by_priority(tenant, clock):
    clock.tick = False  # created_at and the deadlines read the same instant
    customer = await subscriber(tenant, "Rahim", "9876500101")
    urgent = (await open_ticket(tenant, customer, priority="URGENT"))["ticket"]
    normal = (await open_ticket(tenant, customer))["ticket"]
    assert (urgent["number"], normal["number"]) == (1, 2)
    row = await Ticket.get(number=1, tenant_id=tenant.id)
    assert row.first_response_due_at - row.created_at == timedelta(hours=1)
    assert row.resolution_due_at - row.created_at == timedelta(hours=4)
    await tenant.api.ok("""mutation { ticketSlaSet(priority: NORMAL, firstResponseMinutes: 30, resolutionMinutes: 120) {
      errors { code } } }""")
    third = await Ticket.get(number=(await open_ticket(tenant, customer))["ticket"]["number"], tenant_id=tenant.id)
    assert third.first_response_due_at - third.created_at == timedelta(minutes=30)
    clock.advance(hours=2)
    viewer = await tenant.api_as(Role.VIEWER)  # signed in now (the owner's token has expired)
    data = await viewer.ok(f"query($id: ID!) {{ ticket(id: $id) {{ {FIELDS} }} }}", id=urgent["id"])
    assert (data["ticket"]["firstResponseOverdue"], data["ticket"]["resolutionOverdue"]) == (True, False)
    clock.advance(hours=-2)
    bad = await tenant.api.ok("""mutation { ticketSlaSet(priority: LOW, firstResponseMinutes: 60, resolutionMinutes: 10) {
      errors { field code } } }""")
    assert bad["ticketSlaSet"]["errors"] == [{"field": "resolutionMinutes", "code": "INVALID"}]


async def test_public_comments_reach_the_customer_and_count_as_first_response(tenant):
    customer = await subscriber(tenant, "Karim", "9876500102")
    ticket = (await open_ticket(tenant, customer))["ticket"]
    await tenant.api.ok(COMMENT, id=ticket["id"], body="Line checked, router faulty", internal=True)
    assert await Message.filter(customer_id=customer.id).count() == 0
    assert (await Ticket.get(tenant_id=tenant.id, number=ticket["number"])).first_responded_at is None
    await tenant.api.ok(COMMENT, id=ticket["id"], body="A technician visits at 4 pm.", internal=False)
    [message] = await Message.filter(customer_id=customer.id)
    assert message.template == "ticket_update"
    assert message.body == "Hello Karim, an update on your request #1 (No internet): A technician visits at 4 pm."
    assert (await Ticket.get(tenant_id=tenant.id, number=ticket["number"])).first_responded_at is not None


async def test_status_changes_notify_and_follow_transitions(tenant):
    customer = await subscriber(tenant, "Salma", "9876500103")
    ticket = (await open_ticket(tenant, customer))["ticket"]
    await tenant.api.ok(UPDATE, id=ticket["id"], input={"status": "RESOLVED"})
    [message] = await Message.filter(customer_id=customer.id, template="ticket_status")
    assert message.body == "Hello Salma, your request #1 (No internet) is now resolved."
    closed = await tenant.api.ok(UPDATE, id=ticket["id"], input={"status": "CLOSED"})
    assert closed["ticketUpdate"]["ticket"]["resolvedAt"] is not None
    again = await tenant.api.ok(UPDATE, id=ticket["id"], input={"status": "OPEN"})
    assert again["ticketUpdate"]["errors"] == [{"field": "status", "code": "INVALID_TRANSITION"}]
    assert await AuditEvent.filter(tenant_id=tenant.id, action="ticket.updated").count() == 2


async def test_an_outage_incident_fans_out_to_every_affected_subscriber(tenant):
    subs = [await subscriber(tenant, n, p) for n, p in (("Asha", "9876500104"), ("Ravi", "9876500105"), ("Meena", "9876500106"))]
    bystander = await subscriber(tenant, "Not Affected", "9876500107")
    data = await tenant.api.ok(INCIDENT, input={"customerIds": [to_global_id("Customer", c.id) for c in subs],
                                                "subject": "Fibre cut in Ward 7", "priority": "HIGH"})
    incident = data["incidentCreate"]["ticket"]
    assert incident["isIncident"] is True
    assert sorted(e["node"]["customer"]["name"] for e in incident["affected"]["edges"]) == ["Asha", "Meena", "Ravi"]
    await tenant.api.ok(COMMENT, id=incident["id"], body="Repair crew on site, back by 6 pm.", internal=False)
    updates = await Message.filter(tenant_id=tenant.id, template="ticket_update")
    assert sorted(m.customer_id for m in updates) == sorted(c.id for c in subs)
    assert all("Fibre cut in Ward 7): Repair crew on site" in m.body for m in updates)
    await tenant.api.ok(UPDATE, id=incident["id"], input={"status": "RESOLVED"})
    resolved = await Message.filter(tenant_id=tenant.id, template="ticket_status")
    assert sorted(m.customer_id for m in resolved) == sorted(c.id for c in subs)
    assert await Message.filter(customer_id=bystander.id).count() == 0
    children = await Ticket.filter(tenant_id=tenant.id, parent_id__isnull=False)
    assert {t.status.value for t in children} == {"resolved"}


async def test_viewers_read_agents_act_and_other_tenants_see_nothing(tenant, make_tenant):
    customer = await subscriber(tenant, "Gopal", "9876500108")
    ticket = (await open_ticket(tenant, customer))["ticket"]
    viewer = await tenant.api_as(Role.VIEWER)
    assert (await viewer.ok("{ tickets { edges { node { subject } } } }"))["tickets"]["edges"] == [{"node": {"subject": "No internet"}}]
    refused = await viewer(COMMENT, id=ticket["id"], body="hi", internal=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    other = await make_tenant()
    assert (await other.api.ok("query($id: ID!) { ticket(id: $id) { id } }", id=ticket["id"]))["ticket"] is None
    foreign = await other.api.ok(COMMENT, id=ticket["id"], body="x", internal=False)
    assert foreign["ticketComment"]["errors"] == [{"field": "id", "code": "NOT_FOUND"}]
    bad = await tenant.api.ok(CREATE, input={"customerId": to_global_id("Customer", customer.id), "subject": " "})
    assert bad["ticketCreate"]["errors"] == [{"field": "subject", "code": "REQUIRED"}]
