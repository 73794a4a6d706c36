"""The change feed: a front end syncs, goes offline across a few hundred changes (erasures among
them), and resyncs to exactly what a fresh full read shows; cursors resume, expire and stay in
commit order when transactions overlap."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest

from seva_crm.core.billing import payments as billing_payments
from seva_crm.core.billing import subscriptions as billing_subscriptions
from seva_crm.core.common.enums import ServiceStatus
from seva_crm.core.common.security import utcnow
from seva_crm.core.customers import customers, service_records
from seva_crm.core.messaging import outbox
from seva_crm.core.models import Change, Customer, Invoice
from seva_crm.core.platform import changes
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.privacy import erasure
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.storage.transactions import TransactionMisuse, transaction
from tests.billing_helpers import subscription
from tests.conftest import is_postgres

NODES = """
  customer { id name phone updatedAt deletedAt }
  serviceRecord { id status notes updatedAt }
  invoice { id status amountPaid { amount } }
  payment { id status refundedAmount { amount } }
  subscription { id status pausedAt cancelledAt }
  message { id status body }
"""
FEED = "query($since: String, $first: Int) { changes(since: $since, first: $first) { cursor hasMore changes { cursor type op id " \
       + NODES + " } } }"
FIELD = {"CUSTOMER": "customer", "SERVICE_RECORD": "serviceRecord", "INVOICE": "invoice", "PAYMENT": "payment",
         "SUBSCRIPTION": "subscription", "MESSAGE": "message"}
LISTS = {  # a fresh full read: every list the front end shows
    "customer": "customers { pageInfo { hasNextPage endCursor } edges { node { id name phone updatedAt deletedAt } } }",
    "serviceRecord": "serviceRecords { pageInfo { hasNextPage endCursor } edges { node { id status notes updatedAt } } }",
    "invoice": "invoices { pageInfo { hasNextPage endCursor } edges { node { id status amountPaid { amount } } } }",
    "payment": "payments { pageInfo { hasNextPage endCursor } edges { node { id status refundedAmount { amount } } } }",
    "subscription": "subscriptions { pageInfo { hasNextPage endCursor } edges { node { id status pausedAt cancelledAt } } }",
    "message": "messages { pageInfo { hasNextPage endCursor } edges { node { id status body } } }",
}


async def sync(api, store: dict, since: str | None, first: int = 50) -> tuple[str, int]:
    """Apply the feed from ``since`` to ``store`` as a front end would; returns (cursor, pages)."""
    pages = 0
    while True:
        feed = (await api.ok(FEED, since=since, first=first))["changes"]
        pages += 1
        for change in feed["changes"]:
            key = (FIELD[change["type"]], change["id"])
            if change["op"] == "DELETED":
                assert all(change[f] is None for f in FIELD.values()), {f: change[f] for f in FIELD.values()}  # a tombstone carries nothing
                store.pop(key, None)
            else:
                store[key] = change[FIELD[change["type"]]]
        since = feed["cursor"]
        if not feed["hasMore"]:
            return since, pages


async def full_read(api) -> dict:
    state = {}
    for field, selection in LISTS.items():
        name = selection.split(" ", 1)[0]
        after = None
        while True:
            query = "query($after: String) { " + selection.replace(name, f"{name}(first: 100, after: $after)", 1) + " }"
            page = (await api.ok(query, after=after))[name]
            state.update({(field, e["node"]["id"]): e["node"] for e in page["edges"]})
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    return state


async def test_a_front_end_offline_for_hours_resyncs_to_what_a_full_read_shows(tenant, clock):
    api, scope = tenant.api, tenant.scope
    people = [await customers.create_customer(scope, {"name": f"Customer {i}", "phone": f"98765{i:05d}"}) for i in range(12)]
    store: dict = {}
    cursor, _ = await sync(api, store, None)
    assert store == await full_read(api)

    # offline: a few hundred changes of every kind, erasures among them
    for i in range(60):
        people.append(await customers.create_customer(scope, {"name": f"New {i}", "phone": f"91234{i:05d}"}))
    for c in people[:40]:
        await customers.update_customer(scope, c.id, {"notes": "called back", "name": c.name + " (updated)"})
    records = [await service_records.create_service_record(scope, c.id, {"service_name": "PAN card", "fee_amount": 5000})
               for c in people[:50]]
    for r in records[:30]:
        await service_records.update_service_record(scope, r.id, {"status": ServiceStatus.IN_PROGRESS, "notes": "docs taken"})
    for c in people[60:70]:
        await customers.delete_customer(scope, c.id)
    await customers.restore_customer(scope, people[60].id)
    sub = await subscription(scope, customer=people[1])
    first_invoice = await Invoice.get(subscription_id=sub.id)
    payment = await billing_payments.record_payment(scope, first_invoice.id, {"amount": 1000, "method": "cash"})
    await billing_payments.refund_payment(scope, payment.id, {"amount": 400})
    await billing_subscriptions.pause_subscription(scope, sub.id)
    for c in people[2:12]:
        async with transaction():
            message = await outbox.queue_message(tenant.id, c.id, purpose=Purpose.SERVICE, template="document_ready", body="Ready")
        await outbox.advance(message.id, outbox.S.SENDING)
        await outbox.advance(message.id, outbox.S.SENT)
        await outbox.advance(message.id, outbox.S.DELIVERED)
    policy = await tenant_policy(tenant.id)
    for c in people[:4]:  # erasure: the customer goes, what the law keeps is masked, the rest deleted
        await erasure.erase_core(tenant.id, c.id, policy, utcnow().date())
    assert await Change.filter(tenant_id=tenant.id).count() > 250

    cursor, pages = await sync(api, store, cursor)
    assert pages > 5  # it really paged
    fresh = await full_read(api)
    assert store == fresh
    erased = {("customer", _gid("Customer", c.id)) for c in people[:4]}
    assert not erased & set(store)  # the erased are tombstones: gone from the front end
    assert ("customer", _gid("Customer", people[60].id)) in store  # restored: back
    again, _ = await sync(api, store, cursor)  # nothing new: nothing changes, the cursor holds
    assert store == fresh and again == cursor


def _gid(type_name: str, id) -> str:
    from seva_crm.core.common.ids import to_global_id

    return to_global_id(type_name, id)


async def test_a_rolled_back_change_is_not_in_the_feed_and_record_needs_a_transaction(tenant):
    head = await changes.head(tenant.id)
    with pytest.raises(RuntimeError):
        async with transaction():
            customer = await Customer.create(tenant_id=tenant.id, name="Never")
            changes.record(tenant.id, changes.ChangeType.CUSTOMER, customer.id, changes.Op.CREATED)
            raise RuntimeError("rolled back")
    assert await changes.head(tenant.id) == head
    assert (await tenant.api.ok(FEED, since=head, first=10))["changes"]["changes"] == []
    with pytest.raises(TransactionMisuse):
        changes.record(tenant.id, changes.ChangeType.CUSTOMER, customer.id)


async def test_write_many_goes_in_at_once_on_sqlite_and_at_the_commit_on_postgresql(tenant):
    """An import's chunks note their customers with ``write_many``: on SQLite (one writer, whose
    transaction holds the database) the rows go in at once, numbered before the changes recorded
    for the commit; on PostgreSQL they wait for the commit, as ``record_many``'s."""
    imported, noted = uuid4(), uuid4()
    async with transaction():
        changes.record(tenant.id, changes.ChangeType.NOTE, noted, changes.Op.CREATED)
        await changes.write_many(tenant.id, changes.ChangeType.CUSTOMER, [str(imported)], changes.Op.CREATED)
        inside = await Change.filter(tenant_id=tenant.id).values_list("object_id", flat=True)
    feed = await Change.filter(tenant_id=tenant.id).order_by("seq").values_list("object_id", flat=True)
    if is_postgres():
        assert inside == [] and feed == [noted, imported]
    else:
        assert inside == [imported] and feed == [imported, noted]
    head = await changes.head(tenant.id)
    with pytest.raises(TransactionMisuse):  # outside a transaction, on either database: no number taken
        await changes.write_many(tenant.id, changes.ChangeType.CUSTOMER, [str(uuid4())], changes.Op.CREATED)
    assert await changes.head(tenant.id) == head


async def test_an_expired_or_forged_cursor_is_a_typed_error(tenant):
    api = tenant.api
    await customers.create_customer(tenant.scope, {"name": "Old news"})
    cursor = (await api.ok(FEED, since=None, first=10))["changes"]["cursor"]
    await customers.create_customer(tenant.scope, {"name": "Also old"})
    await Change.filter(tenant_id=tenant.id).update(occurred_at=utcnow() - timedelta(days=31))  # a month ago
    assert await changes.prune(utcnow(), retention_days=30) == 2
    await customers.create_customer(tenant.scope, {"name": "Fresh"})
    body = await api(FEED, since=cursor, first=10)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "since", "reason": "expired"}
    assert "afresh" in body["errors"][0]["message"]
    # a front end that resyncs: the head first, then a full read, then the feed from the head
    head = (await api.ok("{ changesHead }"))["changesHead"]
    await customers.update_customer(tenant.scope, (await Customer.get(tenant_id=tenant.id, name="Fresh")).id, {"notes": "x"})
    feed = (await api.ok(FEED, since=head, first=10))["changes"]
    assert [(c["type"], c["op"]) for c in feed["changes"]] == [("CUSTOMER", "UPDATED")]
    for forged in ("not-a-cursor", changes.encode_cursor(10**9)):
        body = await api(FEED, since=forged, first=10)
        assert body["errors"][0]["extensions"]["reason"] == "invalid", forged


async def test_other_tenants_changes_are_never_seen(make_tenant):
    one, other = await make_tenant(), await make_tenant()
    await customers.create_customer(other.scope, {"name": "Not yours"})
    await customers.create_customer(one.scope, {"name": "Yours"})
    feed = (await one.api.ok(FEED, since=None, first=50))["changes"]
    assert [c["customer"]["name"] for c in feed["changes"]] == ["Yours"]


@pytest.mark.skipif(not is_postgres(), reason="overlapping writers need PostgreSQL (SQLite has one writer)")
async def test_overlapping_transactions_commit_in_feed_order(tenant):
    """The classic trap: A starts first, B commits first. A reader that saw B must not later
    find A behind its cursor: numbers follow commits, so A comes after B."""
    api, scope = tenant.api, tenant.scope
    start = await changes.head(tenant.id)
    a_written, b_read = asyncio.Event(), asyncio.Event()
    a = await customers.create_customer(scope, {"name": "A"})
    b = await customers.create_customer(scope, {"name": "B"})
    cursor = (await api.ok(FEED, since=start, first=10))["changes"]["cursor"]

    async def slow_a():
        async with transaction():
            await Customer.filter(id=a.id).update(notes="a")
            changes.record(tenant.id, changes.ChangeType.CUSTOMER, a.id)
            a_written.set()
            await b_read.wait()  # A stays open while B commits and a reader passes B

    async def quick_b():
        await a_written.wait()
        await customers.update_customer(scope, b.id, {"notes": "b"})

    task_a = asyncio.create_task(slow_a())
    await quick_b()
    seen = (await api.ok(FEED, since=cursor, first=10))["changes"]  # a reader in between sees B only
    assert [c["customer"]["name"] for c in seen["changes"]] == ["B"]
    b_read.set()
    await task_a
    later = (await api.ok(FEED, since=seen["cursor"], first=10))["changes"]
    assert [c["customer"]["name"] for c in later["changes"]] == ["A"]  # not lost behind the cursor


async def test_a_feed_of_many_changes_resumes_page_by_page_without_gaps(tenant, clock):
    scope = tenant.scope
    made = [await customers.create_customer(scope, {"name": f"P{i}"}) for i in range(25)]
    store: dict = {}
    await sync(tenant.api, store, None, first=7)
    assert {k[1] for k in store} == {_gid("Customer", c.id) for c in made}


CRM_FEED = """query($since: String) { changes(since: $since, types: [TICKET, LEAD, NOTE], first: 7) { cursor hasMore changes {
  type op id ticket { id status subject firstRespondedAt } lead { id stage name } note { id body } } } }"""
CRM_LISTS = {
    "ticket": "tickets { pageInfo { hasNextPage endCursor } edges { node { id status subject firstRespondedAt } } }",
    "lead": "leads { pageInfo { hasNextPage endCursor } edges { node { id stage name } } }",
}


async def test_tickets_incidents_leads_and_notes_follow_the_feed_through_an_erasure(tenant):
    from seva_crm.core.common.enums import TicketStatus
    from seva_crm.core.crm import leads, notes, tickets

    api, scope = tenant.api, tenant.scope
    people = [await customers.create_customer(scope, {"name": f"Subscriber {i}", "phone": f"98700{i:05d}"}) for i in range(6)]
    store: dict = {}

    async def resync(since):
        while True:
            feed = (await api.ok(CRM_FEED, since=since))["changes"]
            for change in feed["changes"]:
                kind = change["type"].lower()
                if change["op"] == "DELETED":
                    store.pop((kind, change["id"]), None)
                else:
                    store[(kind, change["id"])] = change[kind]
            since = feed["cursor"]
            if not feed["hasMore"]:
                return since

    async def full_read():
        state = {}
        for kind, selection in CRM_LISTS.items():
            name = selection.split(" ", 1)[0]
            page = (await api.ok("{ " + selection.replace(name, f"{name}(first: 100)", 1) + " }"))[name]
            assert not page["pageInfo"]["hasNextPage"]
            state.update({(kind, e["node"]["id"]): e["node"] for e in page["edges"]})
        return state

    cursor = await resync(None)
    single = await tickets.create_ticket(scope, people[0].id, {"subject": "Router blinking red"})
    outage = await tickets.create_incident(scope, [c.id for c in people[1:5]], {"subject": "Fibre cut in Ward 3"})
    lead = await leads.create_lead(scope, {"name": "Nasrin Akter", "phone": "9812300001", "notes": "wants 100 Mbps"})
    cursor = await resync(cursor)  # synced, then offline while the tickets move on
    await tickets.update_ticket(scope, outage.id, {"status": TicketStatus.IN_PROGRESS})  # carries to the children
    await tickets.comment(scope, None, outage.id, "Crew on site", internal=False)
    await tickets.update_ticket(scope, single.id, {"status": TicketStatus.RESOLVED})
    await leads.update_lead(scope, lead.id, {"stage": "contacted"})
    await leads.convert_lead(scope, lead.id)
    note = await notes.add_note(scope, None, people[1].id, "Asked for a rebate")
    policy = await tenant_policy(tenant.id)
    await erasure.erase_core(tenant.id, people[1].id, policy, utcnow().date())  # its ticket and note go or are masked

    cursor = await resync(cursor)
    fresh = await full_read()
    tickets_and_leads = {k: v for k, v in store.items() if k[0] != "note"}
    assert tickets_and_leads == fresh
    assert len([k for k in fresh if k[0] == "ticket"]) >= 5  # the single ticket, the incident, its children
    statuses = sorted(v["status"] for k, v in fresh.items() if k[0] == "ticket")
    assert statuses.count("IN_PROGRESS") >= 4 and "RESOLVED" in statuses
    assert all(v["firstRespondedAt"] for k, v in fresh.items() if k[0] == "ticket" and v["status"] == "IN_PROGRESS")
    assert [v["stage"] for k, v in fresh.items() if k[0] == "lead"] == ["contacted"]
    kept_notes = {k[1]: v["body"] for k, v in store.items() if k[0] == "note"}
    assert "Asked for a rebate" not in kept_notes.values()  # erased: gone, or masked, on the front end too
    assert ("note", _gid("CustomerNote", note.id)) not in store or kept_notes[_gid("CustomerNote", note.id)] == ""
    assert "From lead (no source): wants 100 Mbps" in kept_notes.values()  # the converted lead's note
    assert not any("Subscriber 1" in str(v) for v in store.values())


async def test_subscriptions_cancelled_with_their_deleted_customer_are_in_the_feed(tenant, domain_events):
    who = await customers.create_customer(tenant.scope, {"name": "Leaving Soon", "phone": "9812300077"})
    sub = await subscription(tenant.scope, customer=who)
    head = await changes.head(tenant.id)
    await billing_subscriptions.delete_customer(tenant.scope, who.id, cancel_subscriptions=True)
    feed = (await tenant.api.ok(FEED, since=head, first=10))["changes"]["changes"]
    assert {(c["type"], c["op"]) for c in feed} == {("CUSTOMER", "DELETED"), ("SUBSCRIPTION", "UPDATED")}
    [sub_change] = [c for c in feed if c["type"] == "SUBSCRIPTION"]
    assert sub_change["subscription"]["status"] == "CANCELLED"
    told = [(e.name, e.data["status"]) for e in domain_events if e.subject_id == sub.id]
    assert told[-1] == ("subscription.changed", "cancelled")
