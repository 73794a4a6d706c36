"""Messages committed together are sent in batches: one job per batch, each message claimed on its
own and sent exactly once, the batch's recipients and channels loaded once."""

from __future__ import annotations

import pytest

from seva_crm.core.common.enums import MessageStatus as S
from seva_crm.core.customers.customers import create_customer
from seva_crm.core.messaging import outbox
from seva_crm.core.models import Message
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


async def test_a_batch_costs_about_one_statement_a_message(tenant, outbox_jobs, provider, monkeypatch):
    people = await customers(tenant, 5)
    monkeypatch.setattr(outbox, "enqueue", lambda *a, **kw: None)  # no job: this test sends the batch itself
    messages = await queue_many(tenant, people, outbox.BATCH)
    with QueryCounter() as sql:
        statuses = await outbox.deliver_batch([m.id for m in messages])
    assert statuses == [S.SENT] * outbox.BATCH
    # per message: its outcome, its change-feed row (the tenant's counter and the insert, in the
    # outcome's transaction) and its disclosure-ledger row; per batch: the claim, the rows,
    # customers, tenant, channels, template
    assert sql.count <= 5 * outbox.BATCH + 10, sql.count
    again = await outbox.deliver_batch([m.id for m in messages])  # a repeated job sends nothing again
    assert again == [] and all(provider.delivered(m.idempotency_key) == 1 for m in messages)
