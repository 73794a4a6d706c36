"""Long lists stay cheap: the capped count, keyset pages at any depth, and (PostgreSQL) the plans
of the SQL each list actually runs use an index for its filter and order."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from uuid import uuid4

import pytest
from tortoise.transactions import in_transaction

from seva_crm.core.common.enums import Currency, InvoiceStatus, MessageStatus, PaymentMethod
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.paging import encode_cursor
from seva_crm.core.common.security import utcnow
from seva_crm.core.models import Customer, CustomerTag, Invoice, Message, Payment, ServiceRecord
from tests.conftest import is_postgres

COUNT = "query($max: Int!) { customers { cappedCount(max: $max) { count isExact } totalCount } }"


async def seed(tenant, n: int) -> list[Customer]:
    """``n`` customers (newest first: customer 0), each with a service record and a message;
    every tenth tagged "vip"."""
    now = utcnow()
    customers = [Customer(tenant_id=tenant.id, name=f"Customer {i:05d}", phone=f"+9198{i:08d}",
                          email=f"Person{i}@Example.com", tags=["vip"] if i % 10 == 0 else [],
                          created_at=now - timedelta(minutes=i), updated_at=now - timedelta(minutes=i))
                 for i in range(n)]
    await Customer.bulk_create(customers, batch_size=1000)
    await CustomerTag.bulk_create([CustomerTag(tenant_id=tenant.id, customer_id=c.id, tag="vip", customer_created_at=c.created_at)
                                   for c in customers if c.tags], batch_size=1000)
    await ServiceRecord.bulk_create([ServiceRecord(tenant_id=tenant.id, customer_id=c.id, service_name="PAN card",
                                                   fee_amount=5000, currency=Currency.INR, created_at=c.created_at)
                                     for c in customers], batch_size=1000)
    await Message.bulk_create([Message(tenant_id=tenant.id, customer_id=c.id, purpose="service", template="t",
                                       status=MessageStatus.SENT, idempotency_key=f"seed-{c.id}", created_at=c.created_at)
                               for c in customers], batch_size=1000)
    return customers


async def test_capped_count_stops_at_its_ceiling_and_says_so(tenant):
    await seed(tenant, 7)
    few = (await tenant.api.ok(COUNT, max=5))["customers"]
    assert few["cappedCount"] == {"count": 5, "isExact": False}
    assert few["totalCount"] == 7
    assert (await tenant.api.ok(COUNT, max=7))["customers"]["cappedCount"] == {"count": 7, "isExact": True}
    tagged = await tenant.api.ok('{ customers(filter: {tags: ["vip"]}) { cappedCount { count isExact } } }')
    assert tagged["customers"]["cappedCount"] == {"count": 1, "isExact": True}  # customer 0 only; default ceiling
    nested = await tenant.api.ok("{ customers(first: 1) { edges { node { serviceRecords(first: 0) "
                                 "{ cappedCount(max: 1) { count isExact } } } } } }")
    assert nested["customers"]["edges"][0]["node"]["serviceRecords"]["cappedCount"] == {"count": 1, "isExact": True}


@pytest.mark.parametrize("ceiling", [0, 100_001])
async def test_capped_count_ceiling_out_of_range_is_a_typed_error(tenant, ceiling):
    body = await tenant.api(COUNT, max=ceiling)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "max", "reason": "invalid"}


@pytest.mark.parametrize("order", ["CREATED_AT_DESC", "CREATED_AT_ASC", "UPDATED_AT_DESC", "NAME_ASC"])
async def test_keyset_pages_walk_every_customer_once_in_order(tenant, order):
    customers = await seed(tenant, 23)
    # equal sort keys across a page boundary: the id breaks the tie
    await Customer.filter(id__in=[c.id for c in customers[5:15]]).update(
        created_at=customers[10].created_at, updated_at=customers[10].updated_at, name="Same Name")
    query = ("query($after: String) { customers(orderBy: %s, first: 4, after: $after) "
             "{ edges { node { id } } pageInfo { hasNextPage endCursor } } }" % order)
    seen, after = [], None
    while True:
        page = (await tenant.api.ok(query, after=after))["customers"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(to_global_id("Customer", c.id) for c in customers)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("order", ["CREATED_AT_DESC", "CREATED_AT_ASC", "NAME_ASC"])
async def test_tag_filter_pages_walk_the_tagged_customers_once_in_order(tenant, order):
    """A tag filter in created_at order pages by the tag rows' copy of created_at (the index on the
    tag table); in either direction, with a second tag, every tagged live customer comes once."""
    customers = await seed(tenant, 45)  # vip: customers 0, 10, 20, 30, 40
    await Customer.filter(id=customers[20].id).update(deleted_at=utcnow())
    await tenant.api.ok('mutation($id: ID!) { customerUpdate(id: $id, input: {tags: ["vip", "gold"]}) { errors { code } } }',
                        id=to_global_id("Customer", customers[30].id))
    expected = [to_global_id("Customer", customers[i].id) for i in (0, 10, 30, 40)]
    if order == "CREATED_AT_ASC":
        expected.reverse()
    query = ("query($after: String, $before: String, $tags: [String!]!) { customers(orderBy: %s, first: 1, after: $after, "
             "before: $before, filter: {tags: $tags}) { edges { node { id } } pageInfo { hasNextPage endCursor } } }" % order)
    seen, after = [], None
    while True:
        page = (await tenant.api.ok(query, after=after, before=None, tags=["VIP"]))["customers"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    if order == "NAME_ASC":
        assert sorted(seen) == sorted(expected)
    else:
        assert seen == expected
    both = (await tenant.api.ok(query, after=None, before=None, tags=["vip", "gold"]))["customers"]["edges"]
    assert [e["node"]["id"] for e in both] == [to_global_id("Customer", customers[30].id)]
    back = ("query($before: String!) { customers(orderBy: %s, last: 2, before: $before, filter: {tags: [\"vip\"]}) "
            "{ edges { node { id } } } }" % order)
    if order != "NAME_ASC":
        cursor = encode_cursor(customers[40].created_at, customers[40].id) if order == "CREATED_AT_DESC" else \
            encode_cursor(customers[0].created_at, customers[0].id)
        assert [e["node"]["id"] for e in (await tenant.api.ok(back, before=cursor))["customers"]["edges"]] == expected[1:3]
    count = (await tenant.api.ok('{ customers(filter: {tags: ["vip"]}, orderBy: %s) { totalCount cappedCount(max: 3) '
                                 '{ count isExact } } }' % order))["customers"]
    assert count == {"totalCount": 4, "cappedCount": {"count": 3, "isExact": False}}


# --- PostgreSQL: the plans of the SQL the API runs ---------------------------------------------

SEED = 4000


class Statements(logging.Handler):
    """The SQL statements (text, parameters) Tortoise sends while in the ``with`` block."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[str, list]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(record.args or ()) == 2:
            self.seen.append(record.args)

    def __enter__(self) -> Statements:
        self.logger = logging.getLogger("tortoise.db_client")
        self.saved_level = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.saved_level)


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def seed_billing(tenant, customers: list[Customer]) -> None:
    """Every other customer an invoice (one in 500 void, else paid or open), each paid one a payment."""
    invoices, payments = [], []
    for i, c in enumerate(customers):
        if i % 2:
            continue
        status = InvoiceStatus.VOID if i % 500 == 2 else InvoiceStatus.PAID if i % 4 == 0 else InvoiceStatus.OPEN
        invoice = Invoice(id=uuid4(), tenant_id=tenant.id, customer_id=c.id, number=f"INV-{i:06d}", status=status,
                          currency=Currency.INR, subtotal=100, tax_total=0, total=100, issued_on=c.created_at.date(),
                          due_on=c.created_at.date() + timedelta(days=15), created_at=c.created_at)
        invoices.append(invoice)
        if status is InvoiceStatus.PAID:
            payments.append(Payment(tenant_id=tenant.id, invoice_id=invoice.id, customer_id=c.id, amount=100,
                                    currency=Currency.INR, method=PaymentMethod.UPI, received_at=c.created_at,
                                    created_at=c.created_at))
    await Invoice.bulk_create(invoices, batch_size=1000)
    await Payment.bulk_create(payments, batch_size=1000)


@pytest.mark.skipif(not is_postgres(), reason="plans are PostgreSQL's; SQLite has no planner statistics to speak of")
async def test_every_list_query_reads_an_index_not_the_tenants_whole_list(tenant):
    from tortoise import connections

    customers = await seed(tenant, SEED)
    await CustomerTag.bulk_create([CustomerTag(tenant_id=tenant.id, customer_id=c.id, tag="rare", customer_created_at=c.created_at)
                                   for c in customers[7::1000]])
    await seed_billing(tenant, customers)
    db = connections.get("default")
    for table in ("customer", "customer_tag", "service_record", "message", "billing_invoice", "billing_payment"):
        await db.execute_script(f"ANALYZE {table}")
    deep = customers[SEED * 3 // 4]  # a cursor three quarters down the list
    by_created = encode_cursor(deep.created_at, deep.id)
    by_due = encode_cursor(deep.created_at.date() + timedelta(days=15), deep.id)
    middle = customers[SEED // 2].created_at
    of_deep = to_global_id("Customer", deep.id)
    lists = {
        "first page": "{ customers(first: 50) { edges { node { id } } } }",
        "deep page": '{ customers(first: 50, after: "%s") { edges { node { id } } } }' % by_created,
        "deep page backward": '{ customers(last: 50, before: "%s") { edges { node { id } } } }' % by_created,
        "oldest first, deep": '{ customers(orderBy: CREATED_AT_ASC, first: 50, after: "%s") { edges { node { id } } } }'
                              % by_created,
        "updated": "{ customers(orderBy: UPDATED_AT_DESC, first: 50) { edges { node { id } } } }",
        "name": "{ customers(orderBy: NAME_ASC, first: 50) { edges { node { id } } } }",
        "name, deep": '{ customers(orderBy: NAME_DESC, first: 50, after: "%s") { edges { node { id } } } }'
                      % encode_cursor(deep.name, deep.id),
        "email": '{ customers(filter: {email: "PERSON2999@example.com"}) { edges { node { id } } } }',
        # Searches: on a table this small the planner may rightly read the tenant's few thousand
        # rows rather than the trigram indexes (0026) it uses on a large one (bench/scale.py measures
        # those at a million), so only a sequential scan fails them here.
        "search, common": '{ customers(first: 50, filter: {search: "customer"}) { edges { node { id } } } }',
        "search, a name": '{ customers(first: 50, filter: {search: "Customer 02999"}) { edges { node { id } } } }',
        "search, a phone fragment": '{ customers(first: 50, filter: {search: "002999"}) { edges { node { id } } } }',
        "tag, common": '{ customers(first: 50, filter: {tags: ["vip"]}) { edges { node { id } } } }',
        "tag, rare": '{ customers(first: 50, filter: {tags: ["rare"]}) { edges { node { id } } } }',
        "tag, deep": '{ customers(first: 50, after: "%s", filter: {tags: ["vip"]}) { edges { node { id } } } }' % by_created,
        "date range": '{ customers(filter: {createdAfter: "%s", createdBefore: "%s"}, first: 50) { edges { node { id } } } }'
                      % ((middle - timedelta(minutes=100)).isoformat(), middle.isoformat()),
        "capped count": "{ customers { cappedCount(max: 500) { count } } }",
        "nested records": "{ customers(first: 50) { edges { node { serviceRecords(first: 5) { edges { node { id } } } } } } }",
        "service records": "{ serviceRecords(first: 50) { edges { node { id } } } }",
        "service records, deep": '{ serviceRecords(first: 50, after: "%s") { edges { node { id } } } }' % by_created,
        "service records, cancelled": "{ serviceRecords(first: 50, filter: {status: [CANCELLED]}) { edges { node { id } } } }",
        "a customer's records": '{ serviceRecords(filter: {customerId: "%s"}) { edges { node { id } } } }' % of_deep,
        "messages": "{ messages(first: 50) { edges { node { id } } } }",
        "messages, deep": '{ messages(first: 50, after: "%s") { edges { node { id } } } }' % by_created,
        "messages, failed": "{ messages(first: 50, status: [FAILED]) { edges { node { id } } } }",
        "a customer's messages": '{ messages(customer: "%s") { edges { node { id } } } }' % of_deep,
        "invoices": "{ invoices(first: 50) { edges { node { id } } } }",
        "invoices, deep": '{ invoices(first: 50, after: "%s") { edges { node { id } } } }' % by_created,
        "invoices, due newest": "{ invoices(first: 50, orderBy: DUE_ON_DESC) { edges { node { id } } } }",
        "invoices, due deep": '{ invoices(first: 50, orderBy: DUE_ON_DESC, after: "%s") { edges { node { id } } } }' % by_due,
        "invoices, void": "{ invoices(first: 50, filter: {status: [VOID]}) { edges { node { id } } } }",
        "a customer's invoices": '{ invoices(filter: {customerId: "%s"}) { edges { node { id } } } }' % of_deep,
        "payments": "{ payments(first: 50) { edges { node { id } } } }",
        "payments, deep": '{ payments(first: 50, after: "%s") { edges { node { id } } } }' % by_created,
        "payments, by created": "{ payments(first: 50, orderBy: CREATED_AT_DESC) { edges { node { id } } } }",
        "a customer's payments": '{ payments(filter: {customerId: "%s"}) { edges { node { id } } } }' % of_deep,
    }
    lists_tables = ('"customer"', '"service_record"', '"message"', '"billing_invoice"', '"billing_payment"')
    for name, query in lists.items():
        with Statements() as sql:
            await tenant.api.ok(query)
        checked = 0
        for text, values in sql.seen:
            if not text.lstrip().upper().startswith("SELECT") or not any(f"FROM {t}" in text for t in lists_tables):
                continue
            # On a table this small the planner may rightly prefer reading it all; with sequential
            # scans discouraged it still falls back to one where no index can serve the query.
            async with in_transaction() as conn:
                await conn.execute_script("SET LOCAL enable_seqscan = off")
                _, rows = await conn.execute_query(f"EXPLAIN (ANALYZE, FORMAT JSON) {text}", list(values))
            plan = rows[0]["QUERY PLAN"]
            plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            for node in nodes(plan):
                assert node["Node Type"] != "Seq Scan", f"{name}: sequential scan of {node.get('Relation Name')}\n{text}"
                if not name.startswith("search"):
                    assert node.get("Rows Removed by Filter", 0) < SEED // 4, f"{name}: filters the tenant's list\n{text}"
            checked += 1
        assert checked, f"{name}: no list statement seen"


NESTED = ("{ customers(first: 3) { edges { node { name serviceRecords(first: 2) { edges { node { serviceName } } "
          "pageInfo { hasNextPage } totalCount few: cappedCount(max: 3) { count isExact } "
          "all: cappedCount(max: 10) { count isExact } } } } } }")


async def test_nested_records_load_the_newest_few_and_count_the_rest_when_asked(tenant):
    """A page of customers loads each one's newest first+1 records, not all of them; the counts
    still count every record of the customer, the capped one saying when it stopped."""
    customers = await seed(tenant, 3)  # one record each, created with the customer
    base = customers[0].created_at
    await ServiceRecord.bulk_create([ServiceRecord(tenant_id=tenant.id, customer_id=customers[0].id, service_name=f"Extra {i}",
                                                   fee_amount=100, currency=Currency.INR, created_at=base + timedelta(minutes=i + 1))
                                     for i in range(6)])
    await ServiceRecord.create(tenant_id=tenant.id, customer_id=customers[1].id, service_name="Second", fee_amount=1,
                               currency=Currency.INR, created_at=customers[1].created_at + timedelta(minutes=1))
    for _ in range(2):  # standard execution, then the query plan (schema/plan.py)
        rows = {e["node"]["name"]: e["node"]["serviceRecords"] for e in (await tenant.api.ok(NESTED))["customers"]["edges"]}
        many, two, one = rows["Customer 00000"], rows["Customer 00001"], rows["Customer 00002"]
        assert [e["node"]["serviceName"] for e in many["edges"]] == ["Extra 5", "Extra 4"]
        assert many["pageInfo"]["hasNextPage"] and many["totalCount"] == 7
        assert many["few"] == {"count": 3, "isExact": False} and many["all"] == {"count": 7, "isExact": True}
        assert [e["node"]["serviceName"] for e in two["edges"]] == ["Second", "PAN card"]
        assert not two["pageInfo"]["hasNextPage"] and two["totalCount"] == 2
        assert two["few"] == {"count": 2, "isExact": True} and two["all"] == {"count": 2, "isExact": True}
        assert len(one["edges"]) == 1 and one["totalCount"] == 1 and one["few"] == {"count": 1, "isExact": True}
