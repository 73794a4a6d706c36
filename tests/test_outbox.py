"""The outbox end to end: rows, jobs, channel adapters and a fake provider over real HTTP. Each
test runs on the in-process runner and, with SEVA_TEST_REDIS_URL, on a real Redis broker."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from seva_crm.core.messaging import outbox
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.customers.customers import create_customer, update_customer
from seva_crm.core.common.enums import MessageStatus as S
from seva_crm.core.jobs import enqueue
from seva_crm.core.models import Consent, Customer, Message, Tenant
from seva_crm.core.common.security import utcnow
from seva_crm.core.storage.transactions import TransactionMisuse, transaction
from tests.jobs_support import fast_outbox, outbox_jobs, provider, settle  # noqa: F401 - fixtures

PHONE = "98765 43210"
E164 = "+919876543210"


async def customer(tenant, **fields) -> Customer:
    return await create_customer(tenant.scope, {"name": "Asha Devi", "phone": PHONE, **fields})


async def queue(tenant, who: Customer, purpose: Purpose = Purpose.SERVICE, **kw) -> Message:
    return await outbox.queue_message(tenant.id, who.id, purpose=purpose, template="document_ready",
                                      body="Hello Asha Devi, your PAN card is ready.", **kw)


async def test_a_message_is_sent_exactly_once(tenant, outbox_jobs, provider):
    message = await queue(tenant, await customer(tenant))
    [sent] = await settle(message.id)
    assert (sent.status, sent.channel, sent.attempts, sent.last_error) == (S.SENT, "whatsapp", 1, "")
    assert sent.provider_id.startswith("whatsapp-") and sent.sent_at is not None and sent.locked_until is None
    assert provider.delivered(sent.idempotency_key) == 1
    [request] = provider.tries(sent.idempotency_key)
    assert request.to == E164 and request.channel == "whatsapp"

    enqueue(outbox.SEND_JOB, str(message.id))  # a duplicate job changes nothing
    await asyncio.sleep(0.3)
    assert len(provider.tries(sent.idempotency_key)) == 1
    assert (await Message.get(id=message.id)).status is S.SENT


async def test_retryable_errors_back_off_then_succeed(tenant, outbox_jobs, provider):
    provider.script(E164, "rate_limited", "unavailable")
    message = await queue(tenant, await customer(tenant))
    [sent] = await settle(message.id)
    assert (sent.status, sent.attempts, sent.channel) == (S.SENT, 3, "whatsapp")
    tries = provider.tries(sent.idempotency_key)
    assert [t.status for t in tries] == [429, 503, 200]
    assert tries[1].at - tries[0].at >= provider.retry_after * 0.95  # the provider's Retry-After is respected
    assert tries[2].at - tries[1].at >= 0.1 * 0.95  # attempt 2 failed: backoff from base 0.1 x 2, jitter in its upper half
    assert provider.delivered(sent.idempotency_key) == 1


async def test_retries_stop_at_the_maximum(tenant, outbox_jobs, provider, fast_outbox):
    provider.script(E164, *["unavailable"] * 10)
    message = await queue(tenant, await customer(tenant))
    [failed] = await settle(message.id)
    assert failed.status is S.FAILED and failed.attempts == fast_outbox.outbox_max_attempts
    assert failed.last_error == "whatsapp unavailable: try again later (gave up after 4 attempts)"
    assert provider.delivered(failed.idempotency_key) == 0


async def test_a_permanent_error_fails_with_its_reason(tenant, outbox_jobs, provider):
    provider.script(E164, "invalid_recipient")
    message = await queue(tenant, await customer(tenant))
    [failed] = await settle(message.id)
    assert (failed.status, failed.attempts) == (S.FAILED, 1)
    assert failed.last_error == "whatsapp invalid_recipient: the number is not valid"
    assert failed.failed_at is not None and failed.sent_at is None
    assert len(provider.tries(failed.idempotency_key)) == 1


async def test_fallback_moves_to_the_next_channel(tenant, outbox_jobs, provider):
    provider.script(E164, "not_on_channel", channel="whatsapp")
    message = await queue(tenant, await customer(tenant))
    [sent] = await settle(message.id)
    assert (sent.status, sent.channel, sent.channels_tried) == (S.SENT, "sms", ["whatsapp"])
    assert [(t.channel, t.status) for t in provider.tries(sent.idempotency_key)] == [("whatsapp", 404), ("sms", 200)]


async def test_channel_choice_follows_preference_reach_and_the_tenants_order(tenant, outbox_jobs, provider):
    await Tenant.filter(id=tenant.id).update(channel_fallback=["sms", "email", "whatsapp"])
    prefers_email = await customer(tenant, preferred_channel="email", email="asha@example.com")
    no_phone = await create_customer(tenant.scope, {"name": "No Phone", "email": "np@example.com"})
    nothing = await create_customer(tenant.scope, {"name": "Unreachable"})
    outbox_jobs.plugin.channels[:] = [c for c in outbox_jobs.plugin.channels if c.name != "whatsapp"]  # no plugin offers it
    prefers_whatsapp = await create_customer(tenant.scope, {"name": "Wants WhatsApp", "phone": "98765 43211"})
    messages = [await queue(tenant, c) for c in (prefers_email, no_phone, nothing, prefers_whatsapp)]
    rows = await settle(*[m.id for m in messages])
    assert [(r.status, r.channel) for r in rows] == [(S.SENT, "email"), (S.SENT, "email"), (S.FAILED, None), (S.SENT, "sms")]
    assert rows[2].last_error == "no channel can reach the recipient"


async def test_marketing_needs_consent_and_service_does_not(tenant, outbox_jobs, provider):
    asha = await customer(tenant, email="asha@example.com")
    service = await queue(tenant, asha)
    marketing = await queue(tenant, asha, Purpose.MARKETING)
    rows = await settle(service.id, marketing.id)
    assert [r.status for r in rows] == [S.SENT, S.FAILED]
    assert rows[1].last_error == "no consent"
    assert provider.tries(marketing.idempotency_key) == []

    # consent for email only (after a withdrawal from every channel): marketing goes by email
    await Consent.create(tenant_id=tenant.id, customer_id=asha.id, purpose="marketing", channel=None, granted=True, source="staff")
    await Consent.create(tenant_id=tenant.id, customer_id=asha.id, purpose="marketing", channel=None, granted=False, source="stop_reply")
    await Consent.create(tenant_id=tenant.id, customer_id=asha.id, purpose="marketing", channel="email", granted=True, source="staff")
    again = await queue(tenant, asha, Purpose.MARKETING)
    [sent] = await settle(again.id)
    assert (sent.status, sent.channel) == (S.SENT, "email")


async def test_status_only_moves_forward(tenant, outbox_jobs, provider):
    message = await queue(tenant, await customer(tenant))
    await settle(message.id)
    assert not await outbox.advance(message.id, S.QUEUED)
    assert not await outbox.advance(message.id, S.SENDING)
    assert await outbox.record_status(tenant.id, message.id, S.READ)  # read before delivered: out of order
    assert not await outbox.record_status(tenant.id, message.id, S.DELIVERED)
    assert not await outbox.record_status(tenant.id, message.id, S.FAILED)
    assert await outbox.deliver(message.id) is None  # nothing to send again
    row = await Message.get(id=message.id)
    assert row.status is S.READ and row.read_at is not None and row.delivered_at is None
    assert len(provider.tries(row.idempotency_key)) == 1
    assert not await outbox.record_status(tenant.id, message.id, S.READ)  # a repeat
    unsent = await Message.create(tenant_id=tenant.id, purpose="service", template="t", body="x", idempotency_key="unsent")
    assert not await outbox.record_status(tenant.id, unsent.id, S.DELIVERED)  # never sent: cannot be delivered
    assert not await outbox.advance(unsent.id, S.SENT)  # sent only from sending
    assert (await Message.get(id=unsent.id)).status is S.QUEUED


async def test_the_sweeper_recovers_a_message_whose_sender_died(tenant, outbox_jobs, provider):
    asha = await customer(tenant)
    # a sender claimed it, the provider accepted it, then the sender died before recording that
    message = await Message.create(tenant_id=tenant.id, customer_id=asha.id, purpose="service", template="t",
                                   body="Your PAN card is ready.", status=S.SENDING, attempts=1, channel="whatsapp",
                                   locked_until=utcnow() - timedelta(seconds=1), idempotency_key="died-mid-send")
    provider.handle("/v1/whatsapp/messages", {"authorization": f"Bearer {provider.token}", "idempotency-key": "died-mid-send"},
                    b'{"to": "+919876543210", "body": "x", "reference": "r"}')
    enqueue(outbox.SWEEP_JOB)
    [sent] = await settle(message.id)
    assert (sent.status, sent.attempts) == (S.SENT, 2)
    assert provider.delivered("died-mid-send") == 1  # the provider's idempotency key absorbed the repeat
    assert [t.replayed for t in provider.tries("died-mid-send")] == [False, True]


async def test_the_sweeper_leaves_a_live_lease_alone(tenant, outbox_jobs, provider):
    asha = await customer(tenant)
    message = await Message.create(tenant_id=tenant.id, customer_id=asha.id, purpose="service", template="t", body="x",
                                   status=S.SENDING, attempts=1, locked_until=utcnow() + timedelta(seconds=30),
                                   idempotency_key="still-sending")
    assert await outbox.deliver(message.id) is None
    assert (await Message.get(id=message.id)).status is S.SENDING and provider.tries("still-sending") == []


async def test_the_message_commits_with_its_cause_and_is_enqueued_after(tenant, outbox_jobs, provider, monkeypatch):
    asha = await customer(tenant)
    enqueued = []
    real = outbox.enqueue
    monkeypatch.setattr(outbox, "enqueue", lambda *a, **kw: (enqueued.append(a), real(*a, **kw)))

    with pytest.raises(RuntimeError):
        async with transaction():
            await update_customer(tenant.scope, asha.id, {"notes": "PAN card ready"})
            await queue(tenant, asha, idempotency_key="rolled-back")
            raise RuntimeError("the change failed")
    assert enqueued == []
    assert await Message.filter(tenant_id=tenant.id).count() == 0
    assert (await Customer.get(id=asha.id)).notes == ""

    async with transaction():
        await update_customer(tenant.scope, asha.id, {"notes": "PAN card ready"})
        async with transaction():  # nested: a savepoint; its sends wait for the outer commit
            message = await queue(tenant, asha, idempotency_key="committed")
        assert enqueued == []  # not before the commit
    assert enqueued == [(outbox.SEND_JOB, str(message.id))]
    [sent] = await settle(message.id)
    assert sent.status is S.SENT and provider.delivered("committed") == 1
    assert await queue(tenant, asha, idempotency_key="committed") == message  # a repeated key is the same message

    with pytest.raises(TransactionMisuse):
        async with in_transaction():
            await queue(tenant, asha)


async def test_staff_alerts_and_pinned_channels(tenant, outbox_jobs, provider):
    """A message to a member of staff (privacy alerts) goes to their address; a message pinned to
    a channel (a code asked for by SMS) goes on that channel only, or fails."""
    from seva_crm.core.common.enums import Role
    from seva_crm.core.models import User

    owner = await User.filter(tenant_id=tenant.id, role=Role.OWNER).first()
    alert = await outbox.queue_message(tenant.id, None, user_id=owner.id, purpose=Purpose.SERVICE, template="privacy_overdue",
                                       body="Privacy alert.", only_channel="email")
    who = await customer(tenant, email="asha@example.com")
    code = await queue(tenant, who, only_channel="sms")
    no_phone = await customer(tenant, phone=None, email="nophone@example.com")
    stuck = await queue(tenant, no_phone, only_channel="sms")  # email would reach them, but SMS was asked for
    sent_alert, sent_code, failed = await settle(alert.id, code.id, stuck.id)
    assert (sent_alert.status, sent_alert.channel) == (S.SENT, "email")
    assert provider.tries(sent_alert.idempotency_key)[0].to == owner.email
    assert (sent_code.status, sent_code.channel) == (S.SENT, "sms")  # not the preferred whatsapp
    assert failed.status is S.FAILED and failed.channels_tried == []
    with pytest.raises(ValueError):
        await outbox.queue_message(tenant.id, None, purpose=Purpose.SERVICE, template="x", body="nobody")


async def test_a_partner_channel_is_a_preferred_channel_for_messages_and_billing_reminders(tenant, outbox_jobs, provider):
    """A partner plugin's SMS gateway, chosen through GraphQL as a customer's preferred channel,
    carries messageSend and a billing reminder; its kind ("sms") is what consent is asked for."""
    from seva_crm.core.billing import invoices, periodic
    from seva_crm.core.platform.plugins import Plugins, set_plugins
    from seva_crm.core.billing.clock import tenant_today
    from tests.billing_helpers import at
    from tests.channel_plugin import ChannelPlugin, HttpChannel
    from tests.test_customers import create

    partner = ChannelPlugin([HttpChannel("acme-sms", provider.url, provider.token, kind="sms")], plugin_id="acme")
    set_plugins(Plugins(discover=False, extra=(outbox_jobs.plugin, partner)))
    created = await create(tenant.api, name="Asha Devi", phone=PHONE, preferredChannel="acme-sms")
    assert created["errors"] == [] and created["customer"]["preferredChannel"] == "acme-sms"
    listed = (await tenant.api.ok("{ notificationChannels { available { id kind pluginId } } }"))["notificationChannels"]
    assert {"id": "acme-sms", "kind": "sms", "pluginId": "acme"} in listed["available"]

    sent = (await tenant.api.ok("""mutation($id: ID!) { messageSend(customer: $id, template: "document_ready",
        variables: {service: "PAN card", centre: "the centre"}) { message { id } errors { code } } }""",
                                id=created["customer"]["id"]))["messageSend"]
    assert sent["errors"] == []
    asha = await Customer.get(tenant_id=tenant.id, phone=E164)
    today = await tenant_today(tenant.id)
    invoice = await invoices.create_invoice(tenant.scope, {"customer_id": asha.id, "due_on": today + timedelta(days=2),
                                                           "lines": [{"description": "x", "unit_amount": 100}]})
    await periodic.due_reminders(at(today))
    message, reminder = await Message.filter(tenant_id=tenant.id).order_by("created_at")
    assert reminder.idempotency_key == f"billing-reminder:{invoice.id}:due_soon"
    rows = await settle(message.id, reminder.id)
    assert [(r.status, r.channel) for r in rows] == [(S.SENT, "acme-sms"), (S.SENT, "acme-sms")]
    assert [t.channel for r in rows for t in provider.tries(r.idempotency_key)] == ["acme-sms", "acme-sms"]

    # marketing consent given for kind "sms" covers the partner's SMS channel; none for WhatsApp
    await Consent.create(tenant_id=tenant.id, customer_id=asha.id, purpose="marketing", channel="sms", granted=True, source="staff")
    offer = await queue(tenant, asha, Purpose.MARKETING)
    [offered] = await settle(offer.id)
    assert (offered.status, offered.channel) == (S.SENT, "acme-sms")
    await Customer.filter(id=asha.id).update(preferred_channel="whatsapp")
    no_whatsapp_consent = await queue(tenant, asha, Purpose.MARKETING)
    [routed] = await settle(no_whatsapp_consent.id)
    assert (routed.status, routed.channel) == (S.SENT, "sms")  # WhatsApp lacks consent; the built-in SMS kind has it


async def test_an_admin_sets_the_channel_order_and_it_is_audited(tenant):
    from seva_crm.core.common.enums import Role
    from seva_crm.core.models import AuditEvent
    from seva_crm.core.platform.plugins import Plugins, set_plugins
    from tests.channel_plugin import ChannelPlugin, NullChannel

    partner = NullChannel("acme-sms")
    partner.kind = "sms"
    set_plugins(Plugins(discover=False, extra=(ChannelPlugin([NullChannel("whatsapp"), partner], plugin_id="acme"),)))
    update = ('mutation($c: [String!]!) { channelOrderUpdate(channels: $c) { notificationChannels { order } '
              'errors { field code message } } }')
    try:
        current = (await tenant.api.ok("{ notificationChannels { available { id kind pluginId } order } }"))["notificationChannels"]
        assert current == {"available": [{"id": "whatsapp", "kind": "whatsapp", "pluginId": "acme"},
                                         {"id": "acme-sms", "kind": "sms", "pluginId": "acme"}],
                           "order": ["whatsapp", "sms", "email"]}
        changed = (await tenant.api.ok(update, c=["acme-sms", "whatsapp"]))["channelOrderUpdate"]
        assert changed == {"notificationChannels": {"order": ["acme-sms", "whatsapp"]}, "errors": []}
        assert (await Tenant.get(id=tenant.id)).channel_fallback == ["acme-sms", "whatsapp"]
        [event] = await AuditEvent.filter(tenant_id=tenant.id, action="tenant.channel_order_updated")
        assert event.actor_type == "user" and event.actor_id
        assert event.details == {"before": ["whatsapp", "sms", "email"], "after": ["acme-sms", "whatsapp"]}

        bad = (await tenant.api.ok(update, c=["sms", "whatsapp", "whatsapp"]))["channelOrderUpdate"]
        assert bad["notificationChannels"] is None
        assert [(e["field"], e["code"]) for e in bad["errors"]] == [("channels", "INVALID"), ("channels", "DUPLICATE")]
        assert bad["errors"][0]["message"] == "unknown channel 'sms'; available channels: whatsapp, acme-sms"
        assert (await tenant.api.ok(update, c=[]))["channelOrderUpdate"]["errors"][0]["code"] == "REQUIRED"

        viewer = await tenant.api_as(Role.VIEWER)
        assert (await viewer.ok("{ notificationChannels { order } }"))["notificationChannels"]["order"] == ["acme-sms", "whatsapp"]
        refused = await viewer(update, c=["whatsapp"])
        assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert (await Tenant.get(id=tenant.id)).channel_fallback == ["acme-sms", "whatsapp"]
        assert await AuditEvent.filter(tenant_id=tenant.id, action="tenant.channel_order_updated").count() == 1
    finally:
        set_plugins(None)
