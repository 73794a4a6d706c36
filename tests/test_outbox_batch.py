"""Messages committed together are sent in batches: one job per batch, each message sent exactly
once, the batch's recipients and channels loaded once, its outcomes recorded together (one UPDATE
per channel, the change feed and the disclosure ledger in bulk). None lost, none duplicated when a
sender dies between its claim and its sends or between its sends and their record, when a long
batch outlives its lease, or when two senders get the same batch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seva_crm.core.common.enums import MessageStatus as S
from seva_crm.core.common.security import PinnedClock, set_clock, utcnow
from seva_crm.core.customers.customers import create_customer
from seva_crm.core.messaging import outbox
from seva_crm.core.models import Change, Disclosure, Message
from seva_crm.core.storage.returning import update_returning
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.storage.transactions import transaction
from tests.conftest import QueryCounter
from tests.jobs_support import fast_outbox, outbox_jobs, provider, settle  # noqa: F401 - fixtures


async def customers(tenant, n: int) -> list:
    return [await create_customer(tenant.scope, {"name": f"Customer {i}", "phone": f"98765 432{i:02d}"})
            for i in range(n)]


async def queue_many(tenant, people: list, n: int) -> list[Message]:
    async with transaction():
        return [await outbox.queue_message(tenant.id, people[i % len(people)].id, purpose=Purpose.SERVICE,
                                           template="document_ready", body=f"Hello, your document {i} is ready.")
                for i in range(n)]


@pytest.fixture
def jobs_sent(monkeypatch):
    """The jobs the outbox enqueues (they still run)."""
    seen = []
    real = outbox.enqueue
    monkeypatch.setattr(outbox, "enqueue", lambda *a, **kw: (seen.append(a), real(*a, **kw)))
    return seen


async def test_messages_committed_together_go_in_batches_each_sent_once(tenant, outbox_jobs, provider, jobs_sent):
    people = await customers(tenant, 3)
    messages = await queue_many(tenant, people, outbox.BATCH + 10)
    assert [(name, len(ids)) for name, ids in jobs_sent] == [(outbox.SEND_BATCH_JOB, outbox.BATCH),
                                                             (outbox.SEND_BATCH_JOB, 10)]
    sent = await settle(*[m.id for m in messages])
    assert {(m.status, m.attempts) for m in sent} == {(S.SENT, 1)}
    assert all(provider.delivered(m.idempotency_key) == 1 for m in sent)
    by_customer = {p.id: p for p in people}
    for m in sent:  # each went to its own customer
        [request] = provider.tries(m.idempotency_key)
        assert request.to == by_customer[m.customer_id].phone


async def test_a_rolled_back_savepoint_takes_its_messages_out_of_the_batch(tenant, outbox_jobs, provider, jobs_sent):
    [asha] = await customers(tenant, 1)

    async def one(text: str) -> Message:
        return await outbox.queue_message(tenant.id, asha.id, purpose=Purpose.SERVICE, template="document_ready", body=text)

    async with transaction():
        first = await one("first")
        with pytest.raises(RuntimeError):
            async with transaction():
                dropped = await one("dropped")
                raise RuntimeError("undo")
        last = await one("last")
    assert jobs_sent == [(outbox.SEND_BATCH_JOB, [str(first.id), str(last.id)])]
    assert not await Message.filter(id=dropped.id).exists()
    assert [m.status for m in await settle(first.id, last.id)] == [S.SENT, S.SENT]


class Statements(QueryCounter):
    """The statements Tortoise logs, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record) -> None:
        super().emit(record)
        self.messages.append(record.getMessage())


@pytest.fixture
def no_jobs(monkeypatch):
    """The test sends its batches itself: queue_message enqueues nothing."""
    monkeypatch.setattr(outbox, "enqueue", lambda *a, **kw: None)


@pytest.fixture
def clock():
    """A pinned clock moving at the pace of real time, that the test can move on."""
    pinned = PinnedClock(utcnow())
    previous = set_clock(pinned)
    yield pinned
    set_clock(previous)


def on_send(outbox_jobs, monkeypatch, hook):
    """Call ``await hook(n)`` before the n-th (from 1) send of the WhatsApp channel."""
    [whatsapp] = [c for c in outbox_jobs.plugin.channels if c.name == "whatsapp"]
    real, count = whatsapp.send, [0]

    async def send(message, settings):
        count[0] += 1
        await hook(count[0])
        return await real(message, settings)

    monkeypatch.setattr(whatsapp, "send", send)


async def test_a_batch_costs_a_fraction_of_a_statement_a_message(tenant, outbox_jobs, provider, no_jobs, clock):
    people = await customers(tenant, 5)
    messages = await queue_many(tenant, people, outbox.BATCH)
    now, clock.tick = clock.now(), False  # the fake provider's HTTP round trips add up to more than GROUP_COMMIT_SECONDS: one group here
    clock.set(now)
    with QueryCounter() as sql:
        statuses = await outbox.deliver_batch([m.id for m in messages])
    assert statuses == [S.SENT] * outbox.BATCH
    # per batch: the claim, the rows, customers, tenant, its plugins and channel settings, the
    # template; the outcomes' one UPDATE, the change feed's counter (its rows and the disclosure
    # ledger's go by COPY / executemany, outside Tortoise's log), the webhook endpoints once
    assert sql.count <= 15, sql.count
    again = await outbox.deliver_batch([m.id for m in messages])  # a repeated job sends nothing again
    assert again == [] and all(provider.delivered(m.idempotency_key) == 1 for m in messages)


async def test_a_batchs_outcomes_reach_the_change_feed_and_the_disclosure_ledger(tenant, outbox_jobs, provider, no_jobs,
                                                                                   domain_events):
    people = await customers(tenant, 3)
    messages = await queue_many(tenant, people, 7)
    ids = [m.id for m in messages]
    before = await Change.filter(tenant_id=tenant.id).count()
    assert await outbox.deliver_batch(ids) == [S.SENT] * 7
    updates = await Change.filter(tenant_id=tenant.id, type="message", op="updated").order_by("seq")
    assert [c.object_id for c in updates] == ids  # in the batch's order, numbers following on
    seqs = [c.seq for c in await Change.filter(tenant_id=tenant.id).order_by("seq")]
    assert seqs == list(range(1, before + 8))
    ledger = {d.subject_id: d for d in await Disclosure.filter(tenant_id=tenant.id, subject_type="message")}
    assert set(ledger) == set(ids)
    assert all(ledger[m.id].customer_id == m.customer_id and "phone" in ledger[m.id].categories for m in messages)
    sent = [e for e in domain_events if e.name == "message.status_changed"]
    assert [(e.subject_id, e.data) for e in sent] == [(i, {"status": "sent", "channel": "whatsapp"}) for i in ids]
    for row in await Message.filter(id__in=ids):
        assert (row.status, row.channel, row.locked_until, row.sent_at is not None) == (S.SENT, "whatsapp", None, True)
        assert row.provider_id and provider.delivered(row.idempotency_key) == 1


async def test_a_sender_dying_after_its_claim_leaves_the_batch_to_the_next(tenant, outbox_jobs, provider, no_jobs, clock):
    people = await customers(tenant, 2)
    ids = [m.id for m in await queue_many(tenant, people, 5)]
    now = utcnow()  # a sender claims them, then dies before sending any
    assert len(await update_returning(outbox._claims(now, now + timedelta(seconds=5), id__in=ids))) == 5
    assert await outbox.deliver_batch(ids) == []  # the lease holds
    clock.advance(seconds=6)
    assert await outbox.deliver_batch(ids) == [S.SENT] * 5
    for row in await Message.filter(id__in=ids):
        assert (row.status, row.attempts, provider.delivered(row.idempotency_key)) == (S.SENT, 2, 1)


async def test_a_sender_dying_between_its_sends_and_their_record_sends_nothing_twice(tenant, outbox_jobs, provider,
                                                                                     no_jobs, clock, monkeypatch,
                                                                                     domain_events):
    people = await customers(tenant, 2)
    ids = [m.id for m in await queue_many(tenant, people, 5)]
    now, clock.tick = clock.now(), False  # the five sends are one group (the fake's round trips can outlast GROUP_COMMIT_SECONDS)
    clock.set(now)
    real = outbox._mark_sent

    async def dies(*args, **kwargs):
        raise ConnectionError("the worker lost its database")

    monkeypatch.setattr(outbox, "_mark_sent", dies)
    with pytest.raises(ConnectionError):
        await outbox.deliver_batch(ids)
    rows = await Message.filter(id__in=ids)
    assert {r.status for r in rows} == {S.SENDING} and not await Disclosure.filter(tenant_id=tenant.id).exists()
    assert not [e for e in domain_events if e.name == "message.status_changed"]  # nobody was told of a send not recorded
    monkeypatch.setattr(outbox, "_mark_sent", real)
    clock.advance(seconds=6)  # the lease runs out: the sweeper's job sends them again, under the same keys
    assert await outbox.deliver_batch(ids) == [S.SENT] * 5
    for row in await Message.filter(id__in=ids):
        assert (row.status, row.attempts) == (S.SENT, 2)
        assert provider.delivered(row.idempotency_key) == 1  # the provider's idempotency key absorbed the repeat
        assert [t.replayed for t in provider.tries(row.idempotency_key)] == [False, True]
    assert await Disclosure.filter(tenant_id=tenant.id).count() == 5
    told = [e.subject_id for e in domain_events if e.name == "message.status_changed"]
    assert sorted(told) == sorted(ids)  # once each, after the record


async def test_a_long_batch_renews_its_lease(tenant, outbox_jobs, provider, no_jobs, clock, monkeypatch):
    people = await customers(tenant, 2)
    ids = [m.id for m in await queue_many(tenant, people, 6)]
    other = []

    async def slow(n: int) -> None:  # each send takes 2 of the lease's 5 seconds
        clock.advance(seconds=2)
        if n == 5:  # 10 s after the claim: another sender gets the same batch (a sweep)
            other.append(await outbox.deliver_batch(ids))

    on_send(outbox_jobs, monkeypatch, slow)
    assert await outbox.deliver_batch(ids) == [S.SENT] * 6
    assert other == [[]]  # the renewed lease kept every message from it
    for row in await Message.filter(id__in=ids):
        assert (row.status, row.attempts, provider.delivered(row.idempotency_key)) == (S.SENT, 1, 1)


async def test_a_batch_that_lost_its_lease_leaves_the_taken_messages_to_their_new_sender(tenant, outbox_jobs, provider,
                                                                                          no_jobs, clock, monkeypatch):
    people = await customers(tenant, 2)
    ids = [m.id for m in await queue_many(tenant, people, 4)]
    other = []

    async def stalls(n: int) -> None:
        if n == 2:  # the sender stalls past its lease; meanwhile another sender takes the rest
            clock.advance(seconds=6)
            other.append(await outbox.deliver_batch(ids[2:]))

    on_send(outbox_jobs, monkeypatch, stalls)
    first = await outbox.deliver_batch(ids)
    assert other == [[S.SENT, S.SENT]]
    assert first == [S.SENT, S.SENT, None, None]  # the second message was in flight: its claim was still its own
    for row in await Message.filter(id__in=ids):
        assert row.status is S.SENT and provider.delivered(row.idempotency_key) == 1
        assert len(provider.tries(row.idempotency_key)) == 1  # the first sender did not try the taken ones
    assert await Disclosure.filter(tenant_id=tenant.id).count() == 4


async def test_two_senders_given_the_same_batch_send_each_message_once(tenant, outbox_jobs, provider, no_jobs, monkeypatch):
    people = await customers(tenant, 3)
    ids = [m.id for m in await queue_many(tenant, people, 10)]
    other = []

    async def meanwhile(n: int) -> None:
        if n == 1:  # a second job for the same messages (a repeated enqueue) arrives mid-batch
            other.append(await outbox.deliver_batch(list(reversed(ids))))

    on_send(outbox_jobs, monkeypatch, meanwhile)
    assert await outbox.deliver_batch(ids) == [S.SENT] * 10
    assert other == [[]]
    assert all(provider.delivered(m.idempotency_key) == 1 for m in await Message.filter(id__in=ids))


async def test_a_transactions_changes_of_a_tenant_are_one_counter_bump_and_one_insert(tenant):
    from uuid import uuid4

    from seva_crm.core.platform import changes as change_feed

    kept, dropped = [uuid4() for _ in range(3)], uuid4()
    with Statements() as sql:
        async with transaction():
            change_feed.record(tenant.id, "message", kept[0])
            async with transaction():  # a savepoint that commits into the transaction
                change_feed.record_many(tenant.id, "message", kept[1:2])
            with pytest.raises(RuntimeError):
                async with transaction():  # one that rolls back takes its change with it
                    change_feed.record(tenant.id, "message", dropped)
                    raise RuntimeError("undo")
            change_feed.record(tenant.id, "message", kept[2], "created")
    rows = await Change.filter(tenant_id=tenant.id, object_id__in=[*kept, dropped]).order_by("seq")
    assert [(r.object_id, r.op) for r in rows] == [(kept[0], "updated"), (kept[1], "updated"), (kept[2], "created")]
    assert [r.seq for r in rows] == list(range(rows[0].seq, rows[0].seq + 3))
    # one counter bump (the rows go by COPY / executemany, outside Tortoise's log), the savepoints' own statements
    assert sum("change_counter" in m for m in sql.messages) == 1
