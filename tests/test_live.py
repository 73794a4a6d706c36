"""Live updates: GraphQL subscriptions over WebSocket (graphql-transport-ws), signed in like HTTP,
scoped to the tenant, across server processes through Redis. A WhatsApp delivery report that
arrives at one server reaches the front desk connected to another."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid

import httpx
import pytest

from seva_crm.core.common.enums import MessageStatus
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.settings import get_settings
from seva_crm.core.customers.customers import create_customer
from seva_crm.core.identity.sessions import revoke_user_sessions
from seva_crm.core.billing.payments import record_payment
from seva_crm.core.messaging import outbox
from seva_crm.core.models import Invoice, Message, User
from seva_crm.core.platform import pubsub, webhook_tenants
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.core.storage.transactions import transaction
from seva_crm.plugins.whatsapp.fake import FakeWhatsApp
from seva_crm.schema.app import create_app
from seva_crm.testing.client import Api
from tests.billing_helpers import subscription
from tests.channel_plugin import ChannelPlugin, http_channels
from tests.jobs_support import fast_outbox, provider  # noqa: F401 - fixtures
from tests.live_support import LiveClient, ServerProcess, serve_here

REDIS_URL = os.environ.get("SEVA_TEST_REDIS_URL", "")
HOOK = "/webhooks/whatsapp/"
STATUS = "subscription { messageStatus { status message { id status } } }"
EVENTS = "subscription($types: [String!]) { events(types: $types) { type id data } }"
PAYMENTS = "subscription { payments { type payment { id } } }"


def token(tenant) -> str:
    return tenant.api.http.headers["authorization"]


async def whatsapp_tenant(make_tenant):
    """A tenant on WhatsApp, and a message WhatsApp accepted (sent), waiting for its delivery report."""
    number, secret = str(uuid.uuid4().int)[:15], f"secret-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(plugins={"whatsapp": {"phoneNumberId": number, "accessToken": "token", "appSecret": secret,
                                                     "verifyToken": "verify"}})
    webhook_tenants.index.forget()
    customer = await create_customer(tenant.scope, {"name": "Asha Devi", "phone": "9876543210"})
    message = await Message.create(tenant_id=tenant.id, customer_id=customer.id, purpose="service", template="document_ready",
                                   body="Your PAN card is ready", channel="whatsapp", status="sent",
                                   provider_id=f"wamid.{uuid.uuid4().hex}", idempotency_key=f"live-{uuid.uuid4().hex}")
    return tenant, FakeWhatsApp(phone_number_id=number, app_secret=secret), message


def delivery_report(fake: FakeWhatsApp, message: Message, status: str = "delivered") -> tuple[bytes, dict]:
    """Meta's signed status webhook for ``message``."""
    return fake.sign(fake.envelope("messages", {"statuses": [
        {"id": message.provider_id, "status": status, "timestamp": str(int(time.time())), "recipient_id": "919876543210"}]}))


async def subscribed(tenant_id, count: int = 1) -> None:
    """Wait until this process has ``count`` live subscribers of the tenant (no event is missed after)."""
    for _ in range(500):
        if len(pubsub.hub._subscribers.get(tenant_id, ())) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never started")


async def test_a_delivery_report_reaches_the_subscriber_in_process(app, make_tenant):
    tenant, fake, message = await whatsapp_tenant(make_tenant)
    async with serve_here(app) as address, LiveClient.connect(address, token(tenant)) as client:
        assert await client.acked()
        await client.subscribe("1", STATUS)
        await subscribed(tenant.id)
        raw, headers = delivery_report(fake, message)
        assert (await Api(app).http.post(HOOK, content=raw, headers=headers)).status_code == 200
        got = await client.receive()
        assert got["type"] == "next" and got["id"] == "1"
        assert got["payload"]["data"]["messageStatus"] == {"status": "delivered", "message": {
            "id": got["payload"]["data"]["messageStatus"]["message"]["id"], "status": "DELIVERED"}}


PUBSUBS = ["in-process", pytest.param("redis", marks=pytest.mark.skipif(not REDIS_URL, reason="SEVA_TEST_REDIS_URL is not set"))]


@pytest.mark.parametrize("pubsub_kind", PUBSUBS)
async def test_each_message_of_an_outbox_batch_shows_as_sent(app, tenant, provider, fast_outbox, monkeypatch, pubsub_kind):
    """A batch's status changes are published together (one Redis round trip), and the front desk
    still sees every message move to sent, once each."""
    monkeypatch.setattr(get_settings(), "pubsub_url", REDIS_URL if pubsub_kind == "redis" else "")
    monkeypatch.setattr(get_settings(), "broker_url", "")
    published = []
    if pubsub_kind == "redis":
        real = pubsub._publish
        monkeypatch.setattr(pubsub, "_publish", lambda client, payloads: (
            published.append([json.loads(payload)["type"] for _, payload in payloads]), real(client, payloads))[1])
    monkeypatch.setattr(outbox, "enqueue", lambda *a, **kw: None)  # the test sends the batch itself
    set_plugins(Plugins(discover=False, extra=(ChannelPlugin(http_channels(provider.url, provider.token)),)))
    try:
        customer = await create_customer(tenant.scope, {"name": "Asha Devi", "phone": "9876543210"})
        async with transaction():
            messages = [await outbox.queue_message(tenant.id, customer.id, purpose=Purpose.SERVICE, template="document_ready",
                                                   body=f"Your document {i} is ready.") for i in range(5)]
        async with serve_here(app) as address, LiveClient.connect(address, token(tenant)) as client:
            assert await client.acked()
            await client.subscribe("1", STATUS)
            await subscribed(tenant.id)
            assert await outbox.deliver_batch([m.id for m in messages]) == [MessageStatus.SENT] * 5
            seen = [(await client.receive())["payload"]["data"]["messageStatus"] for _ in messages]
    finally:
        set_plugins(None)
    assert sorted(event["message"]["id"] for event in seen) == sorted(to_global_id("Message", m.id) for m in messages)
    assert {(event["status"], event["message"]["status"]) for event in seen} == {("sent", "SENT")}
    if pubsub_kind == "redis":  # the batch's five went in one round trip
        assert [types for types in published if "message.status_changed" in types] == [["message.status_changed"] * 5]


async def test_a_payment_shows_on_the_front_desk_as_it_is_recorded(app, tenant):
    sub = await subscription(tenant.scope)
    invoice = await Invoice.get(subscription_id=sub.id)
    async with serve_here(app) as address, LiveClient.connect(address, token(tenant)) as client:
        assert await client.acked()
        await client.subscribe("pay", PAYMENTS)
        await subscribed(tenant.id)
        payment = await record_payment(tenant.scope, invoice.id, {"amount": 1000, "method": "cash"})
        got = (await client.receive())["payload"]["data"]["payments"]
        assert got == {"type": "payment.recorded", "payment": {"id": to_global_id("Payment", payment.id)}}


async def test_ticket_changes_and_new_inbound_messages_reach_the_front_desk(app, tenant):
    from seva_crm.core.common.enums import TicketStatus
    from seva_crm.core.crm import tickets
    from seva_crm.core.messaging.provider_reports import record_inbound

    who = await create_customer(tenant.scope, {"name": "Karim", "phone": "9876500301"})
    async with serve_here(app) as address, LiveClient.connect(address, token(tenant)) as client:
        assert await client.acked()
        await client.subscribe("t", EVENTS, types=["ticket.*"])
        await client.subscribe("in", "subscription { inboundMessages { type id data } }")
        await subscribed(tenant.id, 2)
        ticket = await tickets.create_ticket(tenant.scope, who.id, {"subject": "No internet since morning"})
        await tickets.update_ticket(tenant.scope, ticket.id, {"status": TicketStatus.IN_PROGRESS})
        await record_inbound(tenant.id, "whatsapp", sender=who.phone, provider_id="wamid.live.1", body="Still down")
        got = [await client.receive() for _ in range(3)]
        by_id = {g["id"]: [] for g in got}
        for g in got:
            by_id[g["id"]].append(g["payload"]["data"])
        assert [(e["events"]["type"], e["events"]["id"], e["events"]["data"].get("status")) for e in by_id["t"]] == [
            ("ticket.created", str(ticket.id), "open"), ("ticket.updated", str(ticket.id), "in_progress")]
        [received] = by_id["in"]
        assert received["inboundMessages"]["type"] == "message.received"
        assert received["inboundMessages"]["data"]["customer_id"] == str(who.id)
        assert "Still down" not in str(got) and "Karim" not in str(got)  # ids and states only


async def test_no_token_or_a_bad_token_is_closed_with_4403(app, tenant):
    async with serve_here(app) as address:
        for authorization in (None, "Bearer not-a-token", token(tenant) + "x"):
            async with LiveClient.connect(address, authorization) as client:
                assert await client.receive() is None and client.close_code == 4403, authorization


async def test_a_subscription_before_connection_init_is_refused(app):
    async with serve_here(app) as address:
        import websockets

        async with websockets.connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send('{"id": "1", "type": "subscribe", "payload": {"query": "subscription { payments { type } }"}}')
            client = LiveClient(ws)
            assert await client.receive() is None and client.close_code == 4401


async def test_other_tenants_events_are_never_seen(app, make_tenant):
    one, other = await make_tenant(), await make_tenant()
    async with serve_here(app) as address, LiveClient.connect(address, token(one)) as client:
        assert await client.acked()
        await client.subscribe("all", EVENTS, types=None)
        await subscribed(one.id)
        secret = await create_customer(other.scope, {"name": "Not yours"})  # first: it would arrive first if it leaked
        mine = await create_customer(one.scope, {"name": "Yours"})
        got = await client.receive()
        assert got["payload"]["data"]["events"]["type"] == "customer.created"
        assert got["payload"]["data"]["events"]["id"] == str(mine.id) != str(secret.id)
        assert "Yours" not in str(got)  # ids and states only


async def test_a_revoked_session_has_its_socket_closed_at_the_next_event(app, tenant):
    async with serve_here(app) as address, LiveClient.connect(address, token(tenant)) as client:
        assert await client.acked()
        await client.subscribe("p", PAYMENTS)
        await client.subscribe("e", EVENTS, types=["customer.*"])
        await subscribed(tenant.id, 2)
        owner = await User.get(email=tenant.owner_email)
        await revoke_user_sessions(None, owner.id)
        await create_customer(tenant.scope, {"name": "After the revocation"})
        assert await client.receive() is None and client.close_code == 4403


async def test_limits_init_timeout_and_subscriptions_per_connection(tenant, monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "ws_init_timeout_seconds", 0.3)
    monkeypatch.setattr(settings, "ws_max_subscriptions", 2)
    limited = create_app(settings, manage_db=False, run_jobs=False)
    async with serve_here(limited) as address:
        import websockets

        async with websockets.connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            silent = LiveClient(ws)  # never sends connection_init
            assert await silent.receive() is None and silent.close_code == 4408
        async with LiveClient.connect(address, token(tenant)) as client:
            assert await client.acked()
            for n in range(3):
                await client.subscribe(str(n), PAYMENTS)
            refused = await client.receive()
            assert refused["type"] == "error" and refused["id"] == "2"
            assert "limit" in refused["payload"][0]["message"]


@pytest.mark.skipif(not REDIS_URL, reason="SEVA_TEST_REDIS_URL is not set")
async def test_a_delivery_report_at_one_server_reaches_a_subscriber_of_another(make_tenant):
    """Two real server processes on the test database and one Redis: the front desk is connected
    to the first, Meta's webhook lands on the second."""
    tenant, fake, message = await whatsapp_tenant(make_tenant)
    first, second = ServerProcess(REDIS_URL), ServerProcess(REDIS_URL)
    try:
        await asyncio.gather(first.ready(), second.ready())
        async with LiveClient.connect(first.address, token(tenant)) as client, \
                httpx.AsyncClient(base_url=f"http://{second.address}") as other:
            assert await client.acked()
            await client.subscribe("1", EVENTS, types=["customer.updated", "message.status_changed"])
            for attempt in range(50):  # until the subscription is live: changes made through the second server
                update = await other.post("/graphql", headers={"authorization": token(tenant)}, json={
                    "query": "mutation($id: ID!, $n: String) { customerUpdate(id: $id, input: {notes: $n}) { errors { code } } }",
                    "variables": {"id": to_global_id("Customer", message.customer_id), "n": f"probe {attempt}"}})
                assert update.status_code == 200 and not update.json().get("errors"), update.text
                try:
                    got = await client.receive(timeout=0.5)
                except TimeoutError:
                    continue
                assert got["payload"]["data"]["events"]["type"] == "customer.updated"
                break
            else:
                raise AssertionError("the subscription never heard of a change made through the other server")
            raw, headers = delivery_report(fake, message)
            response = await other.post(HOOK, content=raw, headers=headers)
            assert response.status_code == 200, response.text
            while (event := (await client.receive())["payload"]["data"]["events"])["type"] != "message.status_changed":
                pass  # a later probe, still on its way
            assert event["id"] == str(message.id) and event["data"]["status"] == "delivered"
            assert event["data"]["channel"] == "whatsapp"
    finally:
        first.stop()
        second.stop()
