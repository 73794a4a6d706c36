from datetime import timedelta

from seva_crm.core.billing.clock import tenant_today

from tests.conftest import QueryCounter
from tests.test_customers import create

RECORD = """mutation($input: ServiceRecordCreateInput!) {
  serviceRecordCreate(input: $input) {
    serviceRecord { id serviceName status referenceNumber followUpOn fee { amount currency } customer { name } }
    errors { field code message }
  }
}"""
UPDATE = """mutation($id: ID!, $input: ServiceRecordUpdateInput!) {
  serviceRecordUpdate(id: $id, input: $input) { serviceRecord { status } errors { field code message } }
}"""
LIST = """query($filter: ServiceRecordFilter, $first: Int) {
  serviceRecords(filter: $filter, first: $first) { totalCount edges { node { serviceName status } } }
}"""


async def add(api, customer_id, name, **extra):
    data = await api.ok(RECORD, input={"customerId": customer_id, "serviceName": name, **extra})
    return data["serviceRecordCreate"]


async def test_record_carries_fee_in_minor_units_and_tenant_currency(tenant):
    customer = (await create(tenant.api, name="Asha"))["customer"]
    result = await add(tenant.api, customer["id"], "PAN card application", feeAmount=10700, referenceNumber="PAN/2026/1")
    record = result["serviceRecord"]
    assert record["fee"] == {"amount": 10700, "currency": "INR"}
    assert record["status"] == "REQUESTED"
    assert record["customer"] == {"name": "Asha"}


async def test_negative_fee_and_unknown_customer_are_typed_errors(tenant):
    customer = (await create(tenant.api, name="Ravi"))["customer"]
    bad_fee = await add(tenant.api, customer["id"], "Bill payment", feeAmount=-1)
    assert bad_fee["errors"][0]["field"] == "feeAmount"
    nobody = await add(tenant.api, "Q3VzdG9tZXI6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw", "Bill payment")
    assert nobody["errors"][0] == {"field": "customerId", "code": "NOT_FOUND", "message": "customer not found"}


async def test_status_moves_only_along_allowed_transitions(tenant):
    customer = (await create(tenant.api, name="Meena"))["customer"]
    record = (await add(tenant.api, customer["id"], "Income certificate"))["serviceRecord"]
    ready = await tenant.api.ok(UPDATE, id=record["id"], input={"status": "READY"})
    assert ready["serviceRecordUpdate"]["serviceRecord"]["status"] == "READY"
    delivered = await tenant.api.ok(UPDATE, id=record["id"], input={"status": "DELIVERED"})
    assert delivered["serviceRecordUpdate"]["errors"] == []
    back = await tenant.api.ok(UPDATE, id=record["id"], input={"status": "IN_PROGRESS"})
    assert back["serviceRecordUpdate"]["errors"][0]["code"] == "INVALID_TRANSITION"


async def test_filters_by_customer_status_and_follow_up_due(tenant):
    a = (await create(tenant.api, name="A"))["customer"]
    b = (await create(tenant.api, name="B"))["customer"]
    today = await tenant_today(tenant.id)
    await add(tenant.api, a["id"], "due", followUpOn=(today - timedelta(days=1)).isoformat())
    await add(tenant.api, a["id"], "later", followUpOn=(today + timedelta(days=10)).isoformat())
    done = (await add(tenant.api, b["id"], "done-but-due", followUpOn=today.isoformat(), status="READY"))["serviceRecord"]
    await tenant.api.ok(UPDATE, id=done["id"], input={"status": "DELIVERED"})

    async def names(**f):
        data = await tenant.api.ok(LIST, filter=f)
        return sorted(e["node"]["serviceName"] for e in data["serviceRecords"]["edges"])

    assert await names(customerId=a["id"]) == ["due", "later"]
    assert await names(status=["DELIVERED"]) == ["done-but-due"]
    assert await names(followUpDueBy=today.isoformat()) == ["due"]


async def test_nested_records_cost_the_same_queries_at_any_page_size(tenant):
    for i in range(12):
        customer = (await create(tenant.api, name=f"C{i}"))["customer"]
        await add(tenant.api, customer["id"], f"S{i}")
        await add(tenant.api, customer["id"], f"T{i}")
    query = """query($n: Int) { customers(first: $n) { edges { node { name serviceRecords(first: 5) {
        totalCount edges { node { serviceName fee { amount } } } } } } } }"""
    counts = {}
    await tenant.api.ok("{ me { email } }")  # the session's last use is fresh: no UPDATE of it within the minute
    for size in (2, 10):
        with QueryCounter() as counter:
            data = await tenant.api.ok(query, n=size)
        assert len(data["customers"]["edges"]) == size
        assert all(e["node"]["serviceRecords"]["totalCount"] == 2 for e in data["customers"]["edges"])
        counts[size] = counter.count
    assert counts[2] == counts[10] == 3  # the caller's session (checked on every request), the page, its records
