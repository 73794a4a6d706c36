"""Tenant B, signed in as its owner, aims every query and mutation at tenant A's objects:
each must answer as if the object did not exist, and A's data must be unchanged."""

from core.models import ApiKey, Customer, Message, ServiceRecord
from schema.build import build_schema
from tests.test_customers import create
from tests.test_service_records import add

# Root fields that take no object id (they act on the caller's own account or tenant, or are
# operator-only); everything else must appear in the probes below.
NOT_ADDRESSED = {
    "me", "users", "apiKeys", "tenants", "login", "tokenRefresh", "logout", "emailVerificationStart",
    "emailVerificationConfirm", "phoneVerificationStart", "phoneVerificationConfirm", "userCreate",
    "apiKeyCreate", "tenantCreate", "customerCreate", "customersImport",
}


async def test_every_query_and_mutation_hides_other_tenants_objects(make_tenant):
    a, b = await make_tenant(name="Tenant A"), await make_tenant(name="Tenant B")
    customer = (await create(a.api, name="Secret Customer", phone="9876512345", email="secret@example.com"))["customer"]
    record = (await add(a.api, customer["id"], "Secret service"))["serviceRecord"]
    key = (await a.api.ok('mutation { apiKeyCreate(name: "k", role: VIEWER) { apiKey { id } } }'))["apiKeyCreate"]["apiKey"]
    sent = (await a.api.ok('mutation($id: ID!) { messageSend(customer: $id, template: "document_ready", '
                           'variables: {service: "PAN card", centre: "the centre"}) { message { id } errors { code } } }',
                           id=customer["id"]))["messageSend"]
    assert sent["errors"] == [] and sent["message"]["id"]
    before = (await Customer.get(tenant_id=a.id)).__dict__.copy()

    probes = {
        "customer": ("query($id: ID!) { customer(id: $id) { name } }", {"id": customer["id"]}, lambda d: d["customer"] is None),
        "serviceRecord": ("query($id: ID!) { serviceRecord(id: $id) { serviceName } }", {"id": record["id"]},
                          lambda d: d["serviceRecord"] is None),
        "customers": ('{ customers(filter: {search: "Secret"}) { totalCount edges { node { id } } } }', {},
                      lambda d: d["customers"]["totalCount"] == 0),
        "serviceRecords": ("query($id: ID!) { serviceRecords(filter: {customerId: $id}) { totalCount } }", {"id": customer["id"]},
                           lambda d: d["serviceRecords"]["totalCount"] == 0),
        "customerUpdate": ('mutation($id: ID!) { customerUpdate(id: $id, input: {name: "pwned"}) { customer { id } errors { code } } }',
                           {"id": customer["id"]}, lambda d: d["customerUpdate"]["errors"][0]["code"] == "NOT_FOUND"),
        "customerDelete": ("mutation($id: ID!) { customerDelete(id: $id) { customer { id } errors { code } } }",
                           {"id": customer["id"]}, lambda d: d["customerDelete"]["errors"][0]["code"] == "NOT_FOUND"),
        "customerRestore": ("mutation($id: ID!) { customerRestore(id: $id) { customer { id } errors { code } } }",
                            {"id": customer["id"]}, lambda d: d["customerRestore"]["errors"][0]["code"] == "NOT_FOUND"),
        "serviceRecordCreate": ('mutation($id: ID!) { serviceRecordCreate(input: {customerId: $id, serviceName: "x"}) { serviceRecord { id } errors { code } } }',
                                {"id": customer["id"]}, lambda d: d["serviceRecordCreate"]["errors"][0]["code"] == "NOT_FOUND"),
        "serviceRecordUpdate": ('mutation($id: ID!) { serviceRecordUpdate(id: $id, input: {notes: "x"}) { serviceRecord { id } errors { code } } }',
                                {"id": record["id"]}, lambda d: d["serviceRecordUpdate"]["errors"][0]["code"] == "NOT_FOUND"),
        "messages": ("query($id: ID!) { all: messages { totalCount } mine: messages(customer: $id) { totalCount edges { node { id } } } }",
                     {"id": customer["id"]}, lambda d: d["all"]["totalCount"] == 0 and d["mine"]["totalCount"] == 0),
        "messageSend": ('mutation($id: ID!) { messageSend(customer: $id, template: "document_ready", variables: {service: "x", centre: "y"}) '
                        '{ message { id } errors { code field } } }',
                        {"id": customer["id"]}, lambda d: d["messageSend"]["errors"][0]["code"] == "NOT_FOUND"),
        "apiKeyRevoke": ("mutation($id: ID!) { apiKeyRevoke(id: $id) { apiKey { id } errors { code } } }",
                         {"id": key["id"]}, lambda d: d["apiKeyRevoke"]["errors"][0]["code"] == "NOT_FOUND"),
    }
    for name, (query, variables, hidden) in probes.items():
        data = await b.api.ok(query, **variables)
        assert hidden(data), (name, data)

    schema = build_schema()
    root_fields = {f.name for t in (schema.query, schema.mutation) for f in t.__strawberry_definition__.fields}
    root_fields = {build_schema().config.name_converter.apply_naming_config(f) for f in root_fields}
    assert root_fields - NOT_ADDRESSED - probes.keys() == set(), "new root field: add an isolation probe"

    after = (await Customer.get(tenant_id=a.id)).__dict__
    assert {k: v for k, v in after.items() if not k.startswith("_")} == {k: v for k, v in before.items() if not k.startswith("_")}
    assert await ServiceRecord.filter(tenant_id=a.id).count() == 1
    assert await ServiceRecord.filter(tenant_id=b.id).count() == 0
    assert (await ApiKey.get(tenant_id=a.id)).revoked_at is None
    assert await Message.filter(tenant_id=a.id).count() == 1
    assert await Message.filter(tenant_id=b.id).count() == 0


async def test_lists_show_only_the_callers_tenant(make_tenant):
    a, b = await make_tenant(), await make_tenant()
    await create(a.api, name="Only In A", phone="9876512346")
    await create(b.api, name="Only In B", phone="9876512346")
    for fixture, name in ((a, "Only In A"), (b, "Only In B")):
        data = await fixture.api.ok("{ customers { edges { node { name } } } users { edges { node { email } } } }")
        assert [e["node"]["name"] for e in data["customers"]["edges"]] == [name]
        assert [e["node"]["email"] for e in data["users"]["edges"]] == [fixture.owner_email]
