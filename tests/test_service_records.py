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


PAGE_RECORDS = """query($few: Int) { customers(first: 3) { edges { node { ...Latest
  all: serviceRecords(first: 10) %s { edges { node { serviceName } } } } } } }
fragment Latest on Customer { id few: serviceRecords(first: $few) {
  edges { cursor node { serviceName } } pageInfo { hasNextPage endCursor } } }"""
ONE_RECORDS = """query($id: ID!, $few: Int) { customer(id: $id) { id few: serviceRecords(first: $few) {
  edges { cursor node { serviceName } } pageInfo { hasNextPage endCursor } }
  all: serviceRecords(first: 10) { edges { node { serviceName } } } } }"""


async def test_a_page_loads_its_nested_records_with_the_page_and_answers_as_one_customer_does(tenant):
    """The customers page loads each selected ``serviceRecords(first:)`` (aliases, fragments,
    variables) with the page, one statement per distinct ``first``, and answers exactly as the
    same field asked of one customer (the loader's path) does."""
    ids = []
    for i, count in enumerate((3, 1, 0)):
        ids.append((await create(tenant.api, name=f"P{i}"))["customer"]["id"])
        for j in range(count):
            await add(tenant.api, ids[-1], f"S{i}.{j}")
    await tenant.api.ok("{ me { email } }")  # the session's last use is fresh: no UPDATE of it within the minute
    for _ in range(2):  # standard execution, then the query plan (schema/plan.py)
        for skip_all, statements in ((False, 4), (True, 3)):  # the session, the page, one per distinct first
            with QueryCounter() as counter:
                query = PAGE_RECORDS % ("@skip(if: true)" if skip_all else "")
                page = (await tenant.api.ok(query, few=2))["customers"]["edges"]
            assert counter.count == statements
            by_id = {e["node"]["id"]: e["node"] for e in page}
            assert [e["node"]["serviceName"] for e in by_id[ids[0]]["few"]["edges"]] == ["S0.2", "S0.1"]
            assert by_id[ids[0]]["few"]["pageInfo"]["hasNextPage"]
            assert by_id[ids[2]]["few"] == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
            for cid in ids:
                one = (await tenant.api.ok(ONE_RECORDS, id=cid, few=2))["customer"]
                if skip_all:
                    one.pop("all")
                assert by_id[cid] == one
