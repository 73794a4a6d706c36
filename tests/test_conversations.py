"""Conversations: WhatsApp replies threaded with what we sent, unread counts, assignment, and
answers through the outbox (free text in the 24-hour window, the template outside it)."""

from datetime import timedelta

import pytest

from seva_crm.core.common.enums import Role
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.security import utcnow
from seva_crm.core.models import Conversation, InboundMessage, User
from tests.jobs_support import fast_outbox, provider, settle  # noqa: F401 - fixtures
from tests.test_whatsapp import E164, customer, fake, inbound, wa  # noqa: F401 - fixtures and helpers

THREAD = """query($c: ID!) { conversation(customerId: $c) {
  unreadCount assigneeId messages(first: 10) { edges { node { direction channel body status } } pageInfo { hasNextPage } } } }"""
REPLY = """mutation($c: ID!, $t: String!) { conversationReply(customerId: $c, text: $t) { messageId errors { field code } } }"""
LIST = """query($unread: Boolean!) { conversations(unreadOnly: $unread) { edges { node { customer { name } unreadCount } } } }"""


async def test_a_reply_is_read_and_answered_in_the_window_as_free_text(wa, fake):
    who = await customer(wa)
    cid = to_global_id("Customer", who.id)
    await inbound(wa, fake, "Is my PAN card ready?")  # the fake keeps its window on the wall clock
    await InboundMessage.filter(tenant_id=wa.id).update(received_at=utcnow())  # ours on the pinned clock
    await Conversation.filter(tenant_id=wa.id).update(last_inbound_at=utcnow())
    listed = await wa.api.ok(LIST, unread=True)
    assert listed["conversations"]["edges"] == [{"node": {"customer": {"name": "Asha Devi"}, "unreadCount": 1}}]
    thread = (await wa.api.ok(THREAD, c=cid))["conversation"]
    assert thread["messages"]["edges"] == [{"node": {"direction": "IN", "channel": "whatsapp", "body": "Is my PAN card ready?",
                                                     "status": None}}]
    answer = await wa.api.ok(REPLY, c=cid, t="Yes, collect it today.")
    assert answer["conversationReply"]["errors"] == []
    messages = await settle_reply(wa)
    assert messages[0].status.value == "sent"
    [(payload, code)] = fake.tries(E164)
    assert payload["type"] == "text" and payload["text"]["body"] == "Yes, collect it today.\n- Test Centre"
    thread = (await wa.api.ok(THREAD, c=cid))["conversation"]
    assert [e["node"]["direction"] for e in thread["messages"]["edges"]] == ["OUT", "IN"]
    assert thread["unreadCount"] == 0
    assert (await wa.api.ok(LIST, unread=True))["conversations"]["edges"] == []


async def settle_reply(tenant):
    from seva_crm.core.models import Message
    [row] = await Message.filter(tenant_id=tenant.id, template="conversation_reply").order_by("-created_at").limit(1)
    return await settle(row.id)


async def test_outside_the_window_the_reply_goes_as_the_template(wa, fake):
    fake.register("seva_conversation_reply", "en", 2)
    who = await customer(wa)
    await inbound(wa, fake, "Hello", at=(utcnow() - timedelta(hours=30)).timestamp())
    await InboundMessage.filter(tenant_id=wa.id).update(received_at=utcnow() - timedelta(hours=30))
    await wa.api.ok(REPLY, c=to_global_id("Customer", who.id), t="Your card has arrived.")
    [sent] = await settle_reply(wa)
    assert sent.status.value == "sent"
    [(payload, code)] = fake.tries(E164)
    assert payload["type"] == "template" and payload["template"]["name"] == "seva_conversation_reply"
    assert [p["text"] for p in payload["template"]["components"][0]["parameters"]] == ["Your card has arrived.", "Test Centre"]


async def test_assignment_and_unread_per_agent(wa, fake):
    who = await customer(wa)
    cid = to_global_id("Customer", who.id)
    agent = await wa.api_as(Role.AGENT)
    me = await User.get(tenant_id=wa.id, role="agent")
    assign = """mutation($c: ID!, $a: ID) {
      conversationAssign(customerId: $c, assigneeId: $a) { conversation { assigneeId } errors { code } } }"""
    done = await wa.api.ok(assign, c=cid, a=to_global_id("User", me.id))
    assert done["conversationAssign"]["conversation"]["assigneeId"] == to_global_id("User", me.id)
    await inbound(wa, fake, "one", at=utcnow().timestamp())
    await inbound(wa, fake, "two", at=utcnow().timestamp())
    assert (await agent.ok("{ myUnreadCount }"))["myUnreadCount"] == 2
    assert (await wa.api.ok("{ myUnreadCount }"))["myUnreadCount"] == 0  # the owner was not assigned
    await agent.ok("""mutation($c: ID!) { conversationMarkRead(customerId: $c) { errors { code } } }""", c=cid)
    assert (await agent.ok("{ myUnreadCount }"))["myUnreadCount"] == 0
    viewer = await wa.api_as(Role.VIEWER)
    refused = await viewer(REPLY, c=cid, t="hi")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    empty = await wa.api.ok(REPLY, c=cid, t="  ")
    assert empty["conversationReply"]["errors"] == [{"field": "text", "code": "REQUIRED"}]


PAGE = """query($first: Int!) { conversations(first: $first) { edges { node {
  customer { name } unreadCount assigneeId lastMessage { direction body } } } } }"""


async def test_the_list_costs_the_same_statements_at_any_page_size(tenant):
    """No query per conversation: a page of 3 and a page of 12 send as many statements, and each
    row still shows its own unread count and newest message."""
    from datetime import timedelta

    from seva_crm.core.customers import customers
    from seva_crm.core.messaging import outbox
    from seva_crm.core.messaging.conversations import assign
    from seva_crm.core.messaging.provider_reports import record_inbound
    from seva_crm.core.platform.channels import Purpose
    from seva_crm.core.storage.transactions import transaction
    from tests.conftest import QueryCounter

    me = await User.get(tenant_id=tenant.id, role="owner")
    people = []
    for i in range(12):
        who = await customers.create_customer(tenant.scope, {"name": f"Customer {i}", "phone": f"98765{i:05d}"})
        people.append(who)
        for n in range(i % 3 + 1):  # 1, 2 or 3 unread
            await record_inbound(tenant.id, "whatsapp", sender=who.phone, provider_id=f"wamid.{i}.{n}", body=f"question {i}.{n}")
        if i % 2:  # answered: the reply is the newest message
            async with transaction():
                await outbox.queue_message(tenant.id, who.id, purpose=Purpose.SERVICE, template="conversation_reply",
                                           body=f"answer {i}", idempotency_key=f"reply-{i}")
        if i < 5:
            await assign(tenant.scope, who.id, me.id)
        await Conversation.filter(tenant_id=tenant.id, customer_id=who.id).update(updated_at=utcnow() + timedelta(minutes=i))

    await tenant.api.ok(PAGE, first=1)  # warm: the session and tenant context are read the same way each time
    counts = {}
    for first in (3, 12):
        with QueryCounter() as counter:
            page = (await tenant.api.ok(PAGE, first=first))["conversations"]["edges"]
        counts[first] = counter.count
        assert len(page) == first
    assert counts[3] == counts[12], counts
    rows = {e["node"]["customer"]["name"]: e["node"] for e in page}
    for i in range(12):
        row = rows[f"Customer {i}"]
        assert row["unreadCount"] == i % 3 + 1
        assert row["lastMessage"] == ({"direction": "OUT", "body": f"answer {i}"} if i % 2 else
                                      {"direction": "IN", "body": f"question {i}.{i % 3}"})

    with QueryCounter() as counter:
        assert (await tenant.api.ok("{ myUnreadCount }"))["myUnreadCount"] == sum(i % 3 + 1 for i in range(5))
    few = counter.count
    for who in people[5:]:
        await assign(tenant.scope, who.id, me.id)
    with QueryCounter() as counter:
        assert (await tenant.api.ok("{ myUnreadCount }"))["myUnreadCount"] == sum(i % 3 + 1 for i in range(12))
    assert counter.count == few


async def test_an_offline_front_end_learns_of_new_messages_reads_and_assignments_from_the_feed(tenant):
    from seva_crm.core.customers import customers
    from seva_crm.core.messaging.conversations import assign, mark_read
    from seva_crm.core.messaging.provider_reports import record_inbound

    feed = """query($s: String) { changes(since: $s, types: [CONVERSATION]) { cursor changes {
      op conversation { unreadCount assigneeId lastMessage { body } customer { name } } } } }"""
    head = (await tenant.api.ok("{ changesHead }"))["changesHead"]
    who = await customers.create_customer(tenant.scope, {"name": "Fatema Begum", "phone": "9876500401"})
    await record_inbound(tenant.id, "whatsapp", sender=who.phone, provider_id="wamid.feed.1", body="Is the bill ready?")
    first = (await tenant.api.ok(feed, s=head))["changes"]
    assert [(c["op"], c["conversation"]["unreadCount"], c["conversation"]["lastMessage"]["body"]) for c in first["changes"]] == [
        ("CREATED", 1, "Is the bill ready?")]
    me = await User.get(tenant_id=tenant.id, role="owner")
    await assign(tenant.scope, who.id, me.id)
    await mark_read(tenant.scope, who.id)
    later = (await tenant.api.ok(feed, s=first["cursor"]))["changes"]
    assert [c["conversation"]["unreadCount"] for c in later["changes"]] == [0, 0]  # each as it is now
    assert later["changes"][-1]["conversation"]["assigneeId"] == to_global_id("User", me.id)
    await customers.delete_customer(tenant.scope, who.id)
    again = (await tenant.api.ok(feed, s=head))["changes"]["changes"]  # resynced from before: it went with its customer
    assert {c["op"] for c in again} == {"DELETED"} and all(c["conversation"] is None for c in again)


async def test_an_inbound_message_is_stored_whole_or_not_at_all(tenant, monkeypatch, caplog):
    """The message, its conversation (unread, change feed) and its webhook rows commit together: a
    failure half-way leaves nothing, so the provider's retry of the same message stores it whole;
    and a process that dies just after the commit (no after-commit work) still has its webhook row."""
    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.customers import customers
    from seva_crm.core.messaging import conversations, webhooks
    from seva_crm.core.messaging.provider_reports import record_inbound
    from seva_crm.core.models import WebhookDelivery
    from seva_crm.core.platform import events

    monkeypatch.setattr(get_settings(), "webhook_allow_private", True)
    monkeypatch.setattr(webhooks, "enqueue", lambda *a, **kw: None)
    made = await tenant.api.ok("""mutation($input: WebhookEndpointInput!) { webhookEndpointCreate(input: $input) {
      errors { code } } }""", input={"url": "http://127.0.0.1:9/hook", "eventTypes": ["message.received"]})
    assert made["webhookEndpointCreate"]["errors"] == []
    who = await customers.create_customer(tenant.scope, {"name": "Rupa Das", "phone": "9876500499"})
    touch = conversations.touch_inbound

    async def fails(*args):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(conversations, "touch_inbound", fails)
    with pytest.raises(RuntimeError):
        await record_inbound(tenant.id, "whatsapp", sender=who.phone, provider_id="wamid.whole.1", body="Hello?")
    assert not await InboundMessage.filter(tenant_id=tenant.id, customer_id=who.id).exists()
    assert not await WebhookDelivery.filter(tenant_id=tenant.id).exists()

    monkeypatch.setattr(conversations, "touch_inbound", touch)

    async def dies(event, plugins):  # the process stops right after the commit: nothing after it runs
        return None

    monkeypatch.setattr(events, "_deliver", dies)
    report = await record_inbound(tenant.id, "whatsapp", sender=who.phone, provider_id="wamid.whole.1", body="Hello?")
    assert report.stored
    conversation = await Conversation.get(tenant_id=tenant.id, customer_id=who.id)
    assert conversation.last_inbound_at is not None
    [delivery] = await WebhookDelivery.filter(tenant_id=tenant.id)
    assert delivery.event_type == "message.received" and delivery.payload["data"]["customer_id"] == str(who.id)
