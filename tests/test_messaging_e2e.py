"""End to end, over real HTTP against the WhatsApp Cloud API fake and the MSG91 fake: an Indian
customer (Hindi, WhatsApp preferred) due for renewal in 3 days gets the reminder in Hindi; it
goes to WhatsApp first, WhatsApp says 131026 (not on WhatsApp), it falls back to SMS through the
tenant's DLT template and the delivery report marks it delivered; the customer replies STOP on
WhatsApp; a marketing offer then goes on no channel, while the next (overdue) reminder still goes.

India/MSG91 rather than Bangladesh/SSL Wireless: it exercises more of the path (the tenant's own
templates with per-channel bindings, the DLT text check against the rendered Hindi body)."""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from datetime import timedelta

import pytest

from seva_crm.core import jobs
from seva_crm.core.billing import payments, periodic
from seva_crm.core.billing.clock import tenant_today
from seva_crm.core.common.enums import MessageStatus as S
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import Consent, Invoice, Message
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.core.privacy.consent import has_consent
from seva_crm.core.messaging.templates import BUILTIN, variables_of
from seva_crm.core.platform import webhook_tenants
from seva_crm.plugins.dpdp import hooks as dpdp
from seva_crm.plugins.sms import hooks as sms_plugin
from seva_crm.core.messaging.templates import builtin as builtin_template
from seva_crm.plugins.sms.fake import FakeMsg91
from seva_crm.plugins.whatsapp import hooks as whatsapp_plugin
from seva_crm.plugins.whatsapp.adapter import _paused
from seva_crm.plugins.whatsapp.contacts import is_unreachable
from seva_crm.plugins.whatsapp.fake import FakeWhatsApp
from tests.billing_helpers import at, customer, plan, subscription
from tests.jobs_support import fast_outbox, settle  # noqa: F401 - fixtures
from tests.test_consent import grant, publish

PHONE, E164, WA_ID = "98765 43210", "+919876543210", "919876543210"
HOOK = "/webhooks/whatsapp/"
DLT_IDS = {"invoice_due": "1207170000000000001", "invoice_overdue": "1207170000000000002", "offer": "1207170000000000003"}
UPSERT = """mutation($i: MessageTemplateInput!) { messageTemplateUpsert(input: $i) { errors { field code message } } }"""
SEND = """mutation($id: ID!, $t: String!, $v: JSON) { messageSend(customer: $id, template: $t, variables: $v) {
  message { id } errors { field code message } } }"""


def dlt_text(text: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "{#var#}", text)


@pytest.fixture
def wa_fake():
    fake = FakeWhatsApp(phone_number_id=str(uuid.uuid4().int)[:15], app_secret=f"secret-{uuid.uuid4().hex[:6]}").start()
    for key in ("invoice_due", "invoice_overdue"):
        fake.register(f"seva_{key}", "hi", len(variables_of(BUILTIN[key].texts["hi"])))
    fake.register("seva_offer", "hi", 2, "MARKETING")
    webhook_tenants.index.forget()
    _paused.clear()
    yield fake
    fake.stop()


@pytest.fixture
def msg91():
    fake = FakeMsg91()
    fake.start()
    for key, dlt_id in DLT_IDS.items():  # registered, so that only our consent check can stop the offer
        fake.register(dlt_id, dlt_text(BUILTIN[key].texts["hi"]))
    yield fake
    fake.stop()


@pytest.fixture
async def india(tenant, wa_fake, msg91, fast_outbox, plugin_env):
    plugin_env(SEVA_WHATSAPP_BASE_URL=wa_fake.url, SEVA_SMS_MSG91_BASE_URL=msg91.url)
    plugins = Plugins(discover=False, extra=(whatsapp_plugin, sms_plugin, dpdp))
    set_plugins(plugins)
    await update_plugin_settings(tenant.id, "whatsapp", enabled=True, plugins=plugins, settings={
        "phoneNumberId": wa_fake.phone_number_id, "accessToken": wa_fake.token, "appSecret": wa_fake.app_secret,
        "verifyToken": f"verify-{wa_fake.phone_number_id}", "apiVersion": wa_fake.version})
    token = secrets.token_urlsafe(24)
    await update_plugin_settings(tenant.id, "sms", enabled=True, plugins=plugins, settings={
        "gateway": "msg91", "apiToken": msg91.authkey, "sender": "SEVAIN", "entityId": "1201159100000000000",
        "webhookToken": token})
    # the tenant's own versions of the built-ins: the same texts and WhatsApp bindings, plus its DLT registrations
    for key, dlt_id in DLT_IDS.items():
        builtin = builtin_template(key)  # with the WhatsApp plugin's default bindings
        hi = builtin.texts["hi"]
        bindings = [{"channel": "whatsapp", "language": lang, "binding": b} for lang, b in builtin.bindings["whatsapp"].items()]
        bindings.append({"channel": "sms", "language": "hi", "binding": {
            "dlt_template_id": dlt_id, "text": dlt_text(hi), "variables": variables_of(hi)}})
        up = await tenant.api.ok(UPSERT, i={"key": key, "purpose": builtin.purpose.value.upper(), "bindings": bindings,
                                           "texts": [{"language": lang, "text": t} for lang, t in builtin.texts.items()]})
        assert up["messageTemplateUpsert"]["errors"] == [], up
    broker = jobs.setup_jobs("", namespace=f"seva-test-{uuid.uuid4().hex[:8]}")
    runner = await asyncio.to_thread(lambda: jobs.Runner(broker, threads=2).start())
    tenant.sms_hook = f"/webhooks/sms/msg91/{to_global_id('Tenant', tenant.id)}/{token}"
    yield tenant
    await asyncio.to_thread(runner.stop)
    set_plugins(None)
    jobs.reset_jobs()


async def wait_for_messages(tenant_id, customer_id, count: int, timeout: float = 15.0) -> list[Message]:
    for _ in range(int(timeout / 0.05)):
        rows = await Message.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("created_at")
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} messages")


async def test_renewal_reminder_falls_back_to_sms_in_hindi_and_stop_blocks_marketing_everywhere(india, wa_fake, msg91):
    api, http = india.api, india.api.http
    today = await tenant_today(india.id)
    asha = await customer(india.scope, phone=PHONE, language="hi", preferred_channel="whatsapp")
    wa_fake.not_on_whatsapp.add(WA_ID)  # WhatsApp will answer 131026 for her number
    # marketing consent given for every channel, after the notice (in Hindi, her language)
    assert (await publish(api))["errors"] == [] and (await publish(api, language="HI"))["errors"] == []
    assert (await grant(api, to_global_id("Customer", asha.id)))["errors"] == []
    assert await has_consent(india.id, asha.id, "marketing", "sms")

    # a monthly plan bought a month ago, paid; it renews in 3 days
    sub = await subscription(india.scope, customer=asha, plan=await plan(india.scope))
    # a month on (the subscription cannot start in the past): its period ends, and it renews, in 3 days
    from seva_crm.core.models import Subscription
    renews = today + timedelta(days=3)
    await Subscription.filter(id=sub.id).update(started_on=renews - timedelta(days=30), current_period_start=renews - timedelta(days=30),
                                                current_period_end=renews, next_renewal_on=renews)
    first = await Invoice.get(subscription_id=sub.id)
    await payments.record_payment(india.scope, first.id, {"amount": first.total, "method": "cash"})
    assert (sub.id, "invoiced") in await periodic.run_renewals(at(today))  # (other tests' tenants may be due too)
    renewal = await Invoice.get(subscription_id=sub.id, status__not="paid")
    assert renewal.due_on == today + timedelta(days=3)

    # the scheduler's due-reminder job
    jobs.enqueue("billing.reminders")
    [reminder] = await wait_for_messages(india.id, asha.id, 1)
    [reminder] = await settle(reminder.id)
    hindi = BUILTIN["invoice_due"].texts["hi"].format(name="Asha Devi", invoice_number=renewal.number,
                                                       amount=reminder.variables["amount"], due_date="14 मार्च 2026",
                                                       payment=reminder.variables["payment"])
    assert reminder.body == hindi and "भुगतान" in hindi
    assert (reminder.status, reminder.channel, reminder.channels_tried) == (S.SENT, "sms", ["whatsapp"])
    assert reminder.last_error == ""
    # WhatsApp first: the Hindi template, answered 131026
    [(payload, code)] = wa_fake.tries(E164)
    assert code == 131026 and payload["template"]["name"] == "seva_invoice_due"
    assert payload["template"]["language"] == {"code": "hi"}
    assert payload["template"]["components"][0]["parameters"][0] == {"type": "text", "text": "Asha Devi"}
    assert await is_unreachable(asha.tenant_id, asha.id)
    # then exactly one SMS, the Hindi text through the DLT template
    assert msg91.sent == [{"request_id": reminder.provider_id, "mobiles": WA_ID, "text": hindi,
                           "template_id": DLT_IDS["invoice_due"]}]
    assert reminder.detail["sms"]["encoding"] == "UCS-2"
    # the delivery report (on the tenant's secret URL) marks it delivered
    report = await msg91.report(f"http://test{india.sms_hook}", reminder.provider_id, WA_ID, "1", "Delivered", client=http)
    assert report.status_code == 200, report.text
    assert (await Message.get(id=reminder.id)).status is S.DELIVERED

    # she replies STOP (in Hindi) on WhatsApp: a signed webhook from the fake
    [code] = await wa_fake.deliver(http, HOOK, [wa_fake.customer_writes(WA_ID, "बंद")])
    assert code == 200
    stop = await Consent.filter(tenant_id=india.id, customer_id=asha.id).order_by("-created_at").first()
    assert (stop.granted, stop.channel, stop.purpose, stop.source) == (False, None, "marketing", "stop_reply")
    assert stop.evidence["keyword"] == "बंद" and stop.evidence["wamid"].startswith("wamid.IN")
    for channel in ("whatsapp", "sms", "email"):
        assert not await has_consent(india.id, asha.id, "marketing", channel)

    # a marketing offer, queued as staff do: no channel may carry it
    tries, sms_sent = len(wa_fake.tries(E164)), len(msg91.sent)
    sent = await api.ok(SEND, id=to_global_id("Customer", asha.id), t="offer", v={"offer": "दिवाली पर 10% छूट"})
    assert sent["messageSend"]["errors"] == [], sent
    [offer] = await Message.filter(tenant_id=india.id, customer_id=asha.id, template="offer")
    [offer] = await settle(offer.id)
    assert (offer.status, offer.channel, offer.last_error, offer.provider_id) == (S.FAILED, None, "no consent", None)
    assert len(wa_fake.tries(E164)) == tries and len(msg91.sent) == sms_sent  # nothing reached either provider

    # the next service reminder (overdue, the day after the due date) still goes, by SMS, in Hindi
    produced = await periodic.due_reminders(at(renewal.due_on + timedelta(days=1)))
    assert [kind.value for invoice_id, kind in produced if invoice_id == renewal.id] == ["overdue"]
    overdue = (await Message.filter(tenant_id=india.id, customer_id=asha.id, template="invoice_overdue"))[0]
    [overdue] = await settle(overdue.id)
    assert (overdue.status, overdue.channel) == (S.SENT, "sms")
    # her WhatsApp reply cleared the "unreachable" mark, so WhatsApp was asked once more (the fake
    # still answers 131026 for this number) before SMS
    assert overdue.channels_tried == ["whatsapp"]
    assert [c for _, c in wa_fake.tries(E164)][tries:] == [131026]
    assert msg91.sent[-1]["text"] == overdue.body and "बकाया" in overdue.body and len(msg91.sent) == sms_sent + 1
