"""Households: family members share a phone, explicitly; messages to a member go to the shared
phone in the member's name; unrelated people with the same phone are still duplicates."""

from seva_crm.core.customers import customers
from seva_crm.core.customers.csv_import import import_csv
from seva_crm.core.messaging.messages import send_template
from seva_crm.core.models import AuditEvent
from tests.jobs_support import fast_outbox, outbox_jobs, provider, settle  # noqa: F401 - fixtures

CREATE = """mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) { customer { id name phone householdContact { id } } errors { field code message } }
}"""
CUSTOMER = """query($id: ID!) { customer(id: $id) { name phone householdContact { name } householdMembers { name phone } } }"""
SEARCH = """query($text: String!) { customerSearch(text: $text) { customer { name } } }"""


async def test_a_second_person_with_the_same_phone_is_still_a_duplicate_unless_added_to_the_household(tenant):
    asha = (await tenant.api.ok(CREATE, input={"name": "Asha Devi", "phone": "98765 11111"}))["customerCreate"]["customer"]
    refused = (await tenant.api.ok(CREATE, input={"name": "Stranger", "phone": "9876511111"}))["customerCreate"]
    assert refused["customer"] is None and refused["errors"][0]["code"] == "DUPLICATE"
    son = (await tenant.api.ok(CREATE, input={"name": "Ravi", "phone": "9876511111", "joinHousehold": True}))["customerCreate"]
    assert son["errors"] == []
    assert (son["customer"]["phone"], son["customer"]["householdContact"]["id"]) == ("+919876511111", asha["id"])
    family = (await tenant.api.ok(CUSTOMER, id=asha["id"]))["customer"]
    assert family["householdMembers"] == [{"name": "Ravi", "phone": "+919876511111"}]
    # the phone still finds both; a third unrelated person is still refused
    found = {h["customer"]["name"] for h in (await tenant.api.ok(SEARCH, text="98765 11111"))["customerSearch"]}
    assert found == {"Asha Devi", "Ravi"}
    again = (await tenant.api.ok(CREATE, input={"name": "Another", "phone": "9876511111"}))["customerCreate"]
    assert again["errors"][0]["code"] == "DUPLICATE"


async def test_join_and_leave_an_existing_household(tenant):
    contact = await customers.create_customer(tenant.scope, {"name": "Karim", "phone": "9876522222"})
    wife = await customers.create_customer(tenant.scope, {"name": "Salma", "phone": "9876533333"})
    join = """mutation($id: ID!, $c: ID!) { customerHouseholdJoin(id: $id, contactId: $c) {
      customer { phone householdContact { name } } errors { field code } } }"""
    from seva_crm.core.common.ids import to_global_id
    head = (await tenant.api.ok("{ changesHead }"))["changesHead"]
    data = await tenant.api.ok(join, id=to_global_id("Customer", wife.id), c=to_global_id("Customer", contact.id))
    assert data["customerHouseholdJoin"]["customer"] == {"phone": "+919876522222", "householdContact": {"name": "Karim"}}
    feed = """query($s: String) { changes(since: $s, types: [CUSTOMER]) { changes { op customer { name phone } } } }"""
    seen = (await tenant.api.ok(feed, s=head))["changes"]["changes"]  # an offline front end learns her phone changed
    assert seen == [{"op": "UPDATED", "customer": {"name": "Salma", "phone": "+919876522222"}}]
    # her old number is free again; the contact cannot drop the shared phone while she shares it
    assert (await customers.create_customer(tenant.scope, {"name": "New", "phone": "9876533333"})).phone == "+919876533333"
    bad = await tenant.api.ok("""mutation($id: ID!) { customerUpdate(id: $id, input: {phone: null}) { errors { field code } } }""",
                              id=to_global_id("Customer", contact.id))
    assert bad["customerUpdate"]["errors"] == [{"field": "phone", "code": "INVALID"}]
    # a phone of her own takes her out of the household
    await customers.update_customer(tenant.scope, wife.id, {"phone": "9876544444"})
    assert (await tenant.api.ok(CUSTOMER, id=to_global_id("Customer", wife.id)))["customer"]["householdContact"] is None
    assert await AuditEvent.filter(tenant_id=tenant.id, action="customer.household_joined", subject_id=str(wife.id)).exists()


async def test_messages_to_a_member_go_to_the_shared_phone_in_the_members_name(tenant, outbox_jobs, provider):
    mother = await customers.create_customer(tenant.scope, {"name": "Lakshmi", "phone": "9876555555"})
    son = await customers.create_customer(tenant.scope, {"name": "Gopal", "phone": "9876555555"}, join_household=True)
    message = await send_template(tenant.scope, son.id, "document_ready", {"service": "PAN card", "centre": "Test Centre"})
    assert "Gopal" in message.body and "Lakshmi" not in message.body
    [sent] = await settle(message.id)
    assert sent.status.value == "sent", sent.last_error
    [request] = provider.tries(sent.idempotency_key)
    assert request.to == mother.phone


async def test_csv_import_keeps_duplicates_and_joins_households_only_when_asked(tenant):
    await customers.create_customer(tenant.scope, {"name": "Rahim", "phone": "9876566666"})
    text = ("name,phone,household\n"
            "Rahim's wife,9876566666,yes\n"       # joins Rahim's household
            "Stranger,9876566666,\n"               # a duplicate of Rahim
            "Kamal,9876577777,\n"
            "Kamal's son,9876577777,yes\n"         # joins the earlier row's household
            "Other,9876577777,no\n"                # a duplicate of row 5
            "Bad,9876588888,maybe\n")
    result = await import_csv(tenant.scope, text)
    assert result.imported == 3
    assert [(e.row, e.field, e.code.value) for e in result.errors] == [
        (3, "phone", "duplicate"), (6, "phone", "duplicate"), (7, "household", "invalid")]
    from seva_crm.core.models import Customer
    wife = await Customer.get(tenant_id=tenant.id, name="Rahim's wife")
    son = await Customer.get(tenant_id=tenant.id, name="Kamal's son")
    kamal = await Customer.get(tenant_id=tenant.id, name="Kamal")
    assert wife.phone is None and wife.household_contact_id is not None
    assert (son.phone, son.household_contact_id) == (None, kamal.id)


async def test_a_saved_customers_phone_late_in_a_large_file_is_found_in_its_chunk(tenant):
    """Each chunk's phones are looked up among the tenant's customers (queued while the next rows
    are checked): a saved customer's phone in the file's third chunk is still a duplicate, or with
    ``household`` joins that customer, as on the first line."""
    from seva_crm.core.models import Customer

    rahim = await customers.create_customer(tenant.scope, {"name": "Rahim", "phone": "9876566666"})
    rows = [f"Person {i},+9197{i:08d}," for i in range(2500)]
    rows[2300] = "Stranger,9876566666,"  # row 2302 of the file (the header is row 1)
    rows[2400] = "Rahim's wife,9876566666,yes"
    result = await import_csv(tenant.scope, "name,phone,household\n" + "\n".join(rows) + "\n")
    assert [(e.row, e.field, e.code.value) for e in result.errors] == [(2302, "phone", "duplicate")]
    assert result.imported == 2499
    wife = await Customer.get(tenant_id=tenant.id, name="Rahim's wife")
    assert (wife.phone, wife.household_contact_id) == (None, rahim.id)
    assert not await Customer.filter(tenant_id=tenant.id, name="Stranger").exists()
