"""Status notifications: a service record, a ticket or a subscription entering a status tells the
customer, through the outbox, by the tenant's rules; rules are the admin's to change. Subscription
rules are written in billing's transaction (a rollback leaves neither), and go out by email to a
real SMTP server (aiosmtpd)."""

import pytest

from seva_crm.core.common.enums import Language, Role
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.customers import customers
from seva_crm.core.models import AuditEvent, Message
from tests.jobs_support import fast_outbox  # noqa: F401 - fixtures
from tests.smtp_support import smtp, smtp_certs  # noqa: F401 - fixtures
from tests.test_email import email_jobs  # noqa: F401 - fixture: the email plugin on in-process jobs

CREATE = """mutation($input: ServiceRecordCreateInput!) { serviceRecordCreate(input: $input) { serviceRecord { id } errors { code } } }"""
UPDATE = """mutation($id: ID!, $status: ServiceStatus!) {
  serviceRecordUpdate(id: $id, input: {status: $status}) { serviceRecord { status } errors { field code } } }"""
SET = """mutation($subject: String!, $status: String!, $template: String!, $enabled: Boolean!) {
  statusRuleSet(subject: $subject, status: $status, template: $template, enabled: $enabled) {
    rule { subject status template enabled default } errors { field code message } } }"""


async def record(tenant, language=Language.EN, name="Asha Devi"):
    customer = await customers.create_customer(tenant.scope, {"name": name, "phone": None, "language": language})
    data = await tenant.api.ok(CREATE, input={"customerId": to_global_id("Customer", customer.id), "serviceName": "PAN card"})
    return customer, data["serviceRecordCreate"]["serviceRecord"]["id"]


async def test_marking_a_record_ready_queues_the_document_ready_message_once(tenant):
    customer, rid = await record(tenant)
    await tenant.api.ok(UPDATE, id=rid, status="IN_PROGRESS")
    assert await Message.filter(customer_id=customer.id).count() == 0  # no rule for in progress
    await tenant.api.ok(UPDATE, id=rid, status="READY")
    [message] = await Message.filter(customer_id=customer.id)
    assert message.template == "document_ready"
    assert message.body == "Hello Asha Devi, your PAN card is ready. Please collect it from Test Centre."
    await tenant.api.ok(UPDATE, id=rid, status="DELIVERED")
    assert await Message.filter(customer_id=customer.id).count() == 1


async def test_the_message_is_in_the_customers_language(tenant):
    customer, rid = await record(tenant, Language.BN, "রহিম")
    await tenant.api.ok(UPDATE, id=rid, status="READY")
    [message] = await Message.filter(customer_id=customer.id)
    assert message.body.startswith("নমস্কার রহিম, আপনার PAN card প্রস্তুত।")


async def test_a_refused_transition_sends_nothing(tenant):
    customer, rid = await record(tenant)
    await tenant.api.ok(UPDATE, id=rid, status="CANCELLED")
    data = await tenant.api.ok(UPDATE, id=rid, status="READY")
    assert data["serviceRecordUpdate"]["errors"] == [{"field": "status", "code": "INVALID_TRANSITION"}]
    assert await Message.filter(customer_id=customer.id).count() == 0


async def test_admins_change_rules_and_bad_rules_are_refused(tenant):
    rules = (await tenant.api.ok("{ statusRules { subject status template enabled default } }"))["statusRules"]
    assert {"subject": "service_record", "status": "ready", "template": "document_ready", "enabled": True, "default": True} in rules
    off = await tenant.api.ok(SET, subject="service_record", status="ready", template="document_ready", enabled=False)
    assert off["statusRuleSet"]["rule"]["enabled"] is False
    customer, rid = await record(tenant)
    await tenant.api.ok(UPDATE, id=rid, status="READY")
    assert await Message.filter(customer_id=customer.id).count() == 0
    bad = await tenant.api.ok(SET, subject="service_record", status="ready", template="invoice_due", enabled=True)
    assert {e["field"]: e["code"] for e in bad["statusRuleSet"]["errors"]} == {"template": "MISSING_VARIABLE"}
    bad = await tenant.api.ok(SET, subject="service_record", status="gone", template="offer", enabled=True)
    assert {e["field"] for e in bad["statusRuleSet"]["errors"]} == {"status", "template"}
    agent = await tenant.api_as(Role.AGENT)
    refused = await agent(SET, subject="service_record", status="ready", template="document_ready", enabled=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await AuditEvent.filter(tenant_id=tenant.id, action="status_rule.set").count() == 1


# ---------------------------------------------------------------- subscriptions (billing's events)

TEMPLATE = """mutation($input: MessageTemplateInput!) { messageTemplateUpsert(input: $input) { errors { field code } } }"""
CONNECTION = {"en": "Hello {name}, your {plan} connection from {centre} is now {status}.",
              "hi": "नमस्ते {name}, {centre} से आपका {plan} कनेक्शन अब {status} है।",
              "bn": "নমস্কার {name}, {centre}-এর আপনার {plan} সংযোগ এখন {status}।"}


async def connection_rules(tenant, *statuses):
    texts = [{"language": k, "text": v} for k, v in CONNECTION.items()]
    done = await tenant.api.ok(TEMPLATE, input={"key": "connection_status", "purpose": "SERVICE", "texts": texts})
    assert done["messageTemplateUpsert"]["errors"] == []
    for status in statuses:
        done = await tenant.api.ok(SET, subject="subscription", status=status, template="connection_status", enabled=True)
        assert done["statusRuleSet"]["errors"] == []


def told(messages):
    return [m.body for m in sorted(messages, key=lambda m: m.created_at) if m.template == "connection_status"]


async def test_a_subscription_entering_a_status_tells_the_customer_by_the_tenants_rules(tenant):
    from datetime import timedelta

    from seva_crm.core.billing import payments, periodic, subscriptions
    from seva_crm.core.models import Invoice
    from tests.billing_helpers import at, subscription

    who = await customers.create_customer(tenant.scope, {"name": "सुनीता देवी", "phone": "9876543210", "language": Language.HI})
    sub = await subscription(tenant.scope, customer=who, grace_days=5)
    await connection_rules(tenant, "suspended", "active", "cancelled")  # set after the start: its "active" told nobody
    first = await Invoice.get(subscription_id=sub.id)
    await payments.record_payment(tenant.scope, first.id, {"amount": first.total, "method": "cash"})
    renewal = sub.next_renewal_on
    await periodic.run_renewals(at(renewal))
    assert sub.id in await periodic.mark_overdue(at(renewal + timedelta(days=1)))  # past due: no rule, nothing said
    assert told(await Message.filter(customer_id=who.id)) == []
    assert sub.id in await periodic.suspend_after_grace(at(renewal + timedelta(days=6)))
    assert told(await Message.filter(customer_id=who.id)) == ["नमस्ते सुनीता देवी, Test Centre से आपका Home 50 Mbps कनेक्शन अब निलंबित है।"]

    second = await Invoice.get(subscription_id=sub.id, period_start=renewal)
    await payments.record_payment(tenant.scope, second.id, {"amount": second.total, "method": "upi", "reference": "R1"})
    await subscriptions.cancel_subscription(tenant.scope, sub.id)
    messages = await Message.filter(customer_id=who.id)
    assert told(messages)[1:] == ["नमस्ते सुनीता देवी, Test Centre से आपका Home 50 Mbps कनेक्शन अब चालू है।",
                                  "नमस्ते सुनीता देवी, Test Centre से आपका Home 50 Mbps कनेक्शन अब रद्द है।"]
    rule_messages = [m for m in messages if m.template == "connection_status"]
    assert {(str(m.purpose), str(m.status)) for m in rule_messages} == {("service", "queued")}  # in the outbox
    # billing's own notices still go, once each: the rules add to them, they do not replace them
    assert sorted(m.template for m in messages if m.template != "connection_status") == [
        "subscription_reactivated", "subscription_suspended"]


async def test_a_status_entered_again_is_told_again_and_a_rule_turned_off_says_nothing(tenant):
    from seva_crm.core.billing import subscriptions
    from tests.billing_helpers import subscription

    who = await customers.create_customer(tenant.scope, {"name": "Rahim Uddin", "phone": "9876500001"})
    sub = await subscription(tenant.scope, customer=who)
    await connection_rules(tenant, "active", "paused")
    await subscriptions.pause_subscription(tenant.scope, sub.id)
    await subscriptions.resume_subscription(tenant.scope, sub.id)
    await subscriptions.pause_subscription(tenant.scope, sub.id)
    await subscriptions.resume_subscription(tenant.scope, sub.id)
    assert [b.rsplit(" ", 1)[1] for b in told(await Message.filter(customer_id=who.id))] == [
        "paused.", "active.", "paused.", "active."]
    await tenant.api.ok(SET, subject="subscription", status="cancelled", template="connection_status", enabled=False)
    await tenant.api.ok(SET, subject="subscription", status="paused", template="connection_status", enabled=False)
    await subscriptions.pause_subscription(tenant.scope, sub.id)
    await subscriptions.cancel_subscription(tenant.scope, sub.id)
    assert len(told(await Message.filter(customer_id=who.id))) == 4
    # a subscription's template may use only what a subscription gives
    bad = await tenant.api.ok(SET, subject="subscription", status="active", template="document_ready", enabled=True)
    assert {e["field"]: e["code"] for e in bad["statusRuleSet"]["errors"]} == {"template": "MISSING_VARIABLE"}
    bad = await tenant.api.ok(SET, subject="subscription", status="ready", template="connection_status", enabled=True)
    assert {e["field"] for e in bad["statusRuleSet"]["errors"]} == {"status"}


# ---------------------------------------------------------------- in the change's transaction

WEBHOOK = """mutation($input: WebhookEndpointInput!) { webhookEndpointCreate(input: $input) { errors { field code } } }"""


@pytest.fixture
async def hooked(tenant, monkeypatch):
    """A webhook endpoint for subscription events (on loopback; its jobs are collected, not run)."""
    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.messaging import webhooks

    monkeypatch.setattr(get_settings(), "webhook_allow_private", True)
    jobs = []
    monkeypatch.setattr(webhooks, "enqueue", lambda name, *args, delay_seconds=None: jobs.append(args[0]))
    made = await tenant.api.ok(WEBHOOK, input={"url": "http://127.0.0.1:9/hook", "eventTypes": ["subscription.*"]})
    assert made["webhookEndpointCreate"]["errors"] == []
    return jobs


async def deliveries(tenant, sub):
    from seva_crm.core.models import WebhookDelivery

    rows = await WebhookDelivery.filter(tenant_id=tenant.id).order_by("created_at")
    return [(r.event_type, r.payload["data"]["status"]) for r in rows if r.payload["data"]["id"] == str(sub.id)]


async def test_a_trial_that_turns_active_at_renewal_is_told_like_any_other_change(tenant, hooked, domain_events):
    from datetime import timedelta

    from seva_crm.core.billing import payments, periodic
    from seva_crm.core.models import Invoice
    from tests.billing_helpers import at, subscription

    who = await customers.create_customer(tenant.scope, {"name": "রহিম উদ্দিন", "phone": "9876500002", "language": Language.BN})
    await connection_rules(tenant, "active")
    sub = await subscription(tenant.scope, customer=who, trial_days=14)
    trial_end = sub.current_period_end
    await periodic.run_renewals(at(trial_end - timedelta(days=3)))  # the first invoice, due when the trial ends
    invoice = await Invoice.get(subscription_id=sub.id)
    await payments.record_payment(tenant.scope, invoice.id, {"amount": invoice.total, "method": "cash"})
    await sub.refresh_from_db()
    assert str(sub.status) == "trialing" and told(await Message.filter(customer_id=who.id)) == []  # paid ahead

    assert (sub.id, "renewed") in await periodic.run_renewals(at(trial_end))
    await sub.refresh_from_db()
    assert str(sub.status) == "active"
    assert told(await Message.filter(customer_id=who.id)) == ["নমস্কার রহিম উদ্দিন, Test Centre-এর আপনার Home 50 Mbps সংযোগ এখন চালু।"]
    changed = [(e.data["status"], e.data.get("previous")) for e in domain_events
               if e.subject_id == sub.id and e.name == "subscription.changed"]
    assert changed == [("trialing", None), ("active", "trialing")]
    assert await deliveries(tenant, sub) == [("subscription.changed", "trialing"), ("subscription.changed", "active")]
    assert len(hooked) == 2  # each delivery's job, enqueued once its row committed

    # a later renewal that changes no status says nothing more
    await periodic.run_renewals(at(sub.current_period_end))
    assert len(told(await Message.filter(customer_id=who.id))) == 1 and len(await deliveries(tenant, sub)) == 2


async def test_a_rolled_back_change_leaves_no_message_nor_webhook_and_a_committed_one_both(tenant, hooked, domain_events):
    from seva_crm.core.billing import subscriptions
    from seva_crm.core.storage.transactions import transaction
    from tests.billing_helpers import subscription

    who = await customers.create_customer(tenant.scope, {"name": "Asha Devi", "phone": "9876500003"})
    sub = await subscription(tenant.scope, customer=who)
    await connection_rules(tenant, "cancelled")
    jobs_before, events_before = len(hooked), len(domain_events)

    class Crash(Exception):
        pass

    with pytest.raises(Crash):  # the process fails after the change, before its commit
        async with transaction():
            await subscriptions.cancel_subscription(tenant.scope, sub.id)
            assert told(await Message.filter(customer_id=who.id)) != []  # written in the change's transaction
            raise Crash
    await sub.refresh_from_db()
    assert str(sub.status) == "active"
    assert told(await Message.filter(customer_id=who.id)) == []
    assert await deliveries(tenant, sub) == [("subscription.changed", "active")]  # the start's only
    assert (len(hooked), len(domain_events)) == (jobs_before, events_before)  # nothing sent, no event heard

    await subscriptions.cancel_subscription(tenant.scope, sub.id)
    await sub.refresh_from_db()
    assert str(sub.status) == "cancelled"
    assert len(told(await Message.filter(customer_id=who.id))) == 1
    assert await deliveries(tenant, sub) == [("subscription.changed", "active"), ("subscription.changed", "cancelled")]
    assert len(hooked) == jobs_before + 1


async def test_an_in_transaction_listener_that_fails_loses_only_its_own_rows(tenant, hooked, monkeypatch, caplog):
    from seva_crm.core.billing import subscriptions
    from seva_crm.core.platform import events
    from tests.billing_helpers import subscription

    who = await customers.create_customer(tenant.scope, {"name": "Asha Devi", "phone": "9876500004"})
    sub = await subscription(tenant.scope, customer=who)
    await connection_rules(tenant, "paused")

    async def broken(event):  # its writes, in the savepoint emit gives it, roll back alone
        await Message.filter(customer_id=who.id, template="connection_status").delete()
        raise RuntimeError("a consumer's bug")

    monkeypatch.setattr(events, "_writers", [*events._writers, (broken, None)])  # after the webhooks' and the rules'

    await subscriptions.pause_subscription(tenant.scope, sub.id)
    await sub.refresh_from_db()
    assert str(sub.status) == "paused"  # the change committed
    assert len(told(await Message.filter(customer_id=who.id))) == 1  # the other consumers' rows with it
    assert ("subscription.changed", "paused") in await deliveries(tenant, sub)
    # the failure is logged with its exception (read from the records: the project's log format,
    # once configured by an earlier test, names an exception's class, not its message)
    assert any("in-transaction listener" in r.getMessage() and r.exc_info and str(r.exc_info[1]) == "a consumer's bug"
               for r in caplog.records)


async def test_a_listener_whose_read_fails_loses_neither_the_change_nor_the_others_rows(tenant, hooked, monkeypatch, caplog):
    """A failed statement, even a read, aborts a PostgreSQL transaction unless it ran in a savepoint:
    emit gives each listener one, so the listeners after it still write and the change commits."""
    from tortoise import connections

    from seva_crm.core.billing import subscriptions
    from seva_crm.core.platform import events
    from tests.billing_helpers import subscription

    who = await customers.create_customer(tenant.scope, {"name": "Asha Devi", "phone": "9876500005"})
    sub = await subscription(tenant.scope, customer=who)
    await connection_rules(tenant, "paused")

    async def bad_read(event):  # reads a table that is not there
        await connections.get("default").execute_query("SELECT id FROM no_such_table_here")

    monkeypatch.setattr(events, "_writers", [(bad_read, None), *events._writers])  # first: the others run after it

    await subscriptions.pause_subscription(tenant.scope, sub.id)
    await sub.refresh_from_db()
    assert str(sub.status) == "paused"  # the change committed
    assert len(told(await Message.filter(customer_id=who.id))) == 1  # the status rule's message with it
    assert ("subscription.changed", "paused") in await deliveries(tenant, sub)  # and the webhook delivery
    assert any("in-transaction listener" in r.getMessage() and "bad_read" in r.getMessage() and r.exc_info
               for r in caplog.records)


async def test_a_batch_of_events_loses_only_the_failing_events_rows(tenant, hooked, monkeypatch, caplog):
    """emit_many gives a listener one savepoint for the batch; when one event fails in it, the
    others are written again one savepoint each, so only the failing event's rows are lost."""
    from tortoise import connections

    from seva_crm.core.messaging import webhooks
    from seva_crm.core.models import Subscription
    from seva_crm.core.platform import events
    from seva_crm.core.storage.transactions import transaction
    from tests.billing_helpers import subscription

    subs = [await subscription(tenant.scope, customer=await customers.create_customer(
        tenant.scope, {"name": f"Batch {i}", "phone": f"987650010{i}"})) for i in range(3)]
    unlucky = subs[1].id

    async def picky(event):  # the webhooks' fan-out, whose read fails for one subscription's event
        if event.subject_id == unlucky:
            await connections.get("default").execute_query("SELECT id FROM no_such_table_here")
        await webhooks.fan_out(event)

    monkeypatch.setattr(events, "_writers", [(picky, None)])
    async with transaction():
        await Subscription.filter(id__in=[s.id for s in subs]).update(status="paused")
        await events.emit_many([events.new_event("subscription.changed", tenant.id, s.id, status="paused") for s in subs])
    assert {str(s.status) for s in await Subscription.filter(id__in=[s.id for s in subs])} == {"paused"}
    assert [("subscription.changed", "paused") in await deliveries(tenant, s) for s in subs] == [True, False, True]
    failed = [r for r in caplog.records if "in-transaction listener" in r.getMessage() and r.exc_info]
    assert len(failed) == 1 and str(tenant.id) in failed[0].getMessage()


# ---------------------------------------------------------------- delivered, end to end

async def test_a_subscription_rule_is_delivered_by_email_in_the_customers_language(make_tenant, email_jobs, smtp):
    from seva_crm.core.billing import subscriptions
    from tests.billing_helpers import subscription
    from tests.jobs_support import settle
    from tests.test_email import use_tenant_server

    tenant = await make_tenant(name="Sundarban Net")  # the business's name, in the text and as the sender
    await use_tenant_server(tenant, smtp, fromName="Sundarban Net")
    who = await customers.create_customer(tenant.scope, {"name": "সুমিতা রায়", "email": "sumita@example.com",
                                                          "preferred_channel": "email", "language": Language.BN})
    await connection_rules(tenant, "active", "paused")
    sub = await subscription(tenant.scope, customer=who)  # starts active
    await subscriptions.pause_subscription(tenant.scope, sub.id)
    rows = [m for m in await Message.filter(customer_id=who.id).order_by("created_at") if m.template == "connection_status"]
    sent = await settle(*(m.id for m in rows))
    assert [(str(m.status), m.channel) for m in sent] == [("sent", "email")] * 2

    mails = smtp.handler.to("sumita@example.com")
    texts = sorted(p.get_content().strip() for mail in mails for p in mail.iter_parts() if p.get_content_type() == "text/plain")
    assert [t for t in texts if "সংযোগ" in t] == sorted([
        "নমস্কার সুমিতা রায়, Sundarban Net-এর আপনার Home 50 Mbps সংযোগ এখন চালু।",
        "নমস্কার সুমিতা রায়, Sundarban Net-এর আপনার Home 50 Mbps সংযোগ এখন বিরতিতে।"])
    assert {mail["From"] for mail in mails} == {"Sundarban Net <hello@testcentre.example>"}
    assert {mail["Subject"] for mail in mails} == {"Connection status"}  # the template's name: it sets no subject
    assert all(mail["To"] == "সুমিতা রায় <sumita@example.com>" for mail in mails)
