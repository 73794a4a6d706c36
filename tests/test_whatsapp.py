"""The WhatsApp plugin against a faithful local fake of the Cloud API over real HTTP: sends
(templates, free text in the 24-hour window, falling back), each documented error class, and
the webhooks (verification, signed statuses deduplicated and forward-only, inbound messages,
STOP/START and user_preferences into the consent ledger)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from seva_crm.core.platform import webhook_tenants
from seva_crm.plugins.bangladesh import hooks as bangladesh
from seva_crm.plugins.dpdp import hooks as dpdp
from seva_crm.core import jobs
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.customers.customers import create_customer
from seva_crm.core.common.enums import MessageStatus as S
from seva_crm.core.models import Consent, Customer, InboundMessage, Message, Tenant
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.core.privacy.consent import has_consent
from seva_crm.core.common.security import utcnow
from seva_crm.plugins.whatsapp import errors as E
from seva_crm.plugins.whatsapp import hooks as whatsapp_plugin
from seva_crm.plugins.whatsapp.adapter import _paused
from seva_crm.plugins.whatsapp.contacts import is_unreachable
from seva_crm.plugins.whatsapp.fake import FakeWhatsApp
from tests.channel_plugin import ChannelPlugin, http_channels
from tests.jobs_support import fast_outbox, provider, settle  # noqa: F401 - fixtures
from tests.test_consent import grant, publish

PHONE, E164, WA_ID = "98765 43210", "+919876543210", "919876543210"
HOOK = "/webhooks/whatsapp/"
VARS = {"service": "PAN card", "centre": "Ward 4 CSC"}


@pytest.fixture
def fake():
    wa = FakeWhatsApp(phone_number_id=str(uuid.uuid4().int)[:15], app_secret=f"secret-{uuid.uuid4().hex[:6]}").start()
    wa.register("seva_document_ready", "en", 3)
    wa.register("seva_document_ready", "hi", 3)
    wa.register("seva_offer", "en", 2, "MARKETING")
    webhook_tenants.index.forget()
    _paused.clear()
    yield wa
    wa.stop()


@pytest.fixture
async def wa(tenant, fake, provider, fast_outbox, monkeypatch, plugin_env):
    """The tenant with WhatsApp configured against the fake, SMS and email through the generic
    fake provider, and the outbox running in-process."""
    monkeypatch.setattr(E, "BACKOFF_SECONDS", {E.RATE_PER_NUMBER: 0.2, E.RATE_PER_RECIPIENT: 0.3})
    plugin_env(SEVA_WHATSAPP_BASE_URL=fake.url)
    others = ChannelPlugin(http_channels(provider.url, provider.token, names=("sms", "email")))
    plugins = Plugins(discover=False, extra=(whatsapp_plugin, dpdp, bangladesh, others))
    set_plugins(plugins)
    await update_plugin_settings(tenant.id, "whatsapp", enabled=True, plugins=plugins, settings={
        "phoneNumberId": fake.phone_number_id, "accessToken": fake.token, "appSecret": fake.app_secret,
        "verifyToken": f"verify-{fake.phone_number_id}", "apiVersion": fake.version})
    broker = jobs.setup_jobs("", namespace=f"seva-test-{uuid.uuid4().hex[:8]}")
    runner = await asyncio.to_thread(lambda: jobs.Runner(broker, threads=2).start())
    yield tenant
    await asyncio.to_thread(runner.stop)
    set_plugins(None)
    jobs.reset_jobs()


async def customer(tenant, **fields) -> Customer:
    return await create_customer(tenant.scope, {"name": "Asha Devi", "phone": PHONE, **fields})


async def send(tenant, who, key="document_ready", purpose=Purpose.SERVICE, variables=VARS):
    from seva_crm.core.messaging import messages
    return await messages.send_template(tenant.scope, who.id, key, dict(variables), purpose)


async def inbound(tenant, fake, text="Hello", at=None):
    [code] = await fake.deliver(tenant.api.http, HOOK, [fake.customer_writes(WA_ID, text, at)])
    assert code == 200


async def test_a_template_is_sent_outside_the_window(wa, fake):
    who = await customer(wa, language="hi")
    message = await send(wa, who)
    [sent] = await settle(message.id)
    assert (sent.status, sent.channel) == (S.SENT, "whatsapp") and sent.provider_id.startswith("wamid.")
    [(payload, code)] = fake.tries(E164)
    assert code == 0 and payload["type"] == "template" and payload["to"] == WA_ID
    assert payload["template"]["name"] == "seva_document_ready" and payload["template"]["language"] == {"code": "hi"}
    # Hindi order of the built-in text: name, service, centre
    assert [p["text"] for p in payload["template"]["components"][0]["parameters"]] == ["Asha Devi", "PAN card", "Ward 4 CSC"]
    assert payload["biz_opaque_callback_data"] == str(message.id) and payload["messaging_product"] == "whatsapp"


async def test_free_text_inside_the_window(wa, fake):
    who = await customer(wa)
    await inbound(wa, fake, "When is my PAN ready?")
    assert await InboundMessage.filter(tenant_id=wa.id, customer_id=who.id).count() == 1
    message = await send(wa, who)
    [sent] = await settle(message.id)
    assert sent.status is S.SENT
    [(payload, _)] = fake.tries(E164)
    assert payload["type"] == "text" and payload["text"] == {"body": sent.body, "preview_url": False}
    assert payload["recipient_type"] == "individual"


async def test_outside_the_window_without_a_template_the_next_channel_is_tried(wa, fake, provider):
    who = await customer(wa)
    up = await wa.api.ok("""mutation($i: MessageTemplateInput!) { messageTemplateUpsert(input: $i) { errors { field } } }""",
                         i={"key": "collect", "purpose": "SERVICE", "texts": [{"language": "en", "text": "Hi {name}, collect it."}]})
    assert up["messageTemplateUpsert"]["errors"] == []
    message = await send(wa, who, "collect", variables={})
    [sent] = await settle(message.id)
    assert (sent.status, sent.channel, sent.channels_tried) == (S.SENT, "sms", ["whatsapp"])
    assert fake.tries(E164) == []  # no request: we knew the window was closed

    # the window closed on WhatsApp's side though ours thought it open: 131047 -> the template at once
    await inbound(wa, fake, at=(utcnow() - timedelta(hours=25)).timestamp())
    await InboundMessage.filter(tenant_id=wa.id).update(received_at=utcnow() - timedelta(hours=23))
    message = await send(wa, who)
    [sent] = await settle(message.id)
    assert (sent.status, sent.channel) == (S.SENT, "whatsapp")
    assert [(p["type"], c) for p, c in fake.tries(E164)] == [("text", E.TEMPLATE_REQUIRED), ("template", 0)]


async def test_rate_limits_back_off_and_succeed(wa, fake):
    who = await customer(wa)
    fake.script(E164, E.RATE_PER_NUMBER, E.RATE_PER_RECIPIENT)
    message = await send(wa, who)
    [sent] = await settle(message.id)
    assert (sent.status, sent.attempts) == (S.SENT, 3)
    assert [c for _, c in fake.tries(E164)] == [130429, 131056, 0]


async def test_not_on_whatsapp_falls_back_to_sms_and_is_remembered(wa, fake, provider):
    who = await customer(wa)
    fake.not_on_whatsapp.add(WA_ID)
    first = await send(wa, who)
    [sent] = await settle(first.id)
    assert (sent.status, sent.channel, sent.channels_tried) == (S.SENT, "sms", ["whatsapp"])
    assert await is_unreachable(wa.id, who.id)
    second = await send(wa, who)
    [sent] = await settle(second.id)
    assert sent.channel == "sms" and len(fake.tries(E164)) == 1  # WhatsApp skipped without a request


@pytest.mark.parametrize("code", [131049, 131048, 100, 132000, 132001])
async def test_permanent_errors_are_never_retried(wa, fake, code):
    who = await customer(wa)
    fake.script(E164, code)
    message = await send(wa, who)
    [failed] = await settle(message.id)
    assert (failed.status, failed.attempts) == (S.FAILED, 1) and failed.last_error.startswith(f"whatsapp {code}:")
    assert len(fake.tries(E164)) == 1


async def test_wrong_template_shape_is_the_fakes_132000_and_unknown_name_132001(wa, fake):
    who = await customer(wa, language="bn")  # no Bengali template registered with the fake
    message = await send(wa, who)
    [failed] = await settle(message.id)
    assert failed.status is S.FAILED and failed.last_error.startswith("whatsapp 132001:")


@pytest.mark.parametrize("code", [190, 368, 131031])
async def test_auth_and_blocked_errors_alert_and_fall_back(wa, fake, code, caplog):
    who = await customer(wa)
    fake.script(E164, code)
    message = await send(wa, who)
    [sent] = await settle(message.id)
    assert (sent.status, sent.channel) == (S.SENT, "sms")
    assert any("ALERT whatsapp error" in r.getMessage() for r in caplog.records)


async def test_a_bad_token_is_190(wa, fake):
    fake.token = "rotated"
    who = await customer(wa)
    message = await send(wa, who)
    [sent] = await settle(message.id)
    assert (sent.status, sent.channel, sent.channels_tried) == (S.SENT, "sms", ["whatsapp"])


async def test_131050_withdraws_marketing_consent_on_whatsapp(wa, fake):
    who = await customer(wa)
    await publish(wa.api)
    from seva_crm.core.common.ids import to_global_id
    granted = await grant(wa.api, to_global_id("Customer", who.id))
    assert granted["errors"] == [], granted
    assert await has_consent(wa.id, who.id, "marketing", "whatsapp")
    fake.stopped_marketing.add(WA_ID)
    fake.register("seva_offer", "en", 2, "MARKETING")
    message = await send(wa, who, "offer", Purpose.MARKETING, {"offer": "10% off"})
    [failed] = await settle(message.id)
    assert failed.status is S.FAILED and failed.last_error.startswith("whatsapp 131050")
    for channel in ("whatsapp", "sms", "email"):  # the customer stopped marketing: on every channel
        assert not await has_consent(wa.id, who.id, "marketing", channel)
    row = await Consent.filter(tenant_id=wa.id, customer_id=who.id).order_by("-created_at").first()
    assert (row.granted, row.source, row.channel) == (False, "provider", None)
    assert row.evidence["error"] == 131050 and row.evidence["via"] == "whatsapp"


async def test_webhook_verification(wa, fake, app):
    http = wa.api.http
    ok = await http.get(HOOK, params={"hub.mode": "subscribe", "hub.verify_token": f"verify-{fake.phone_number_id}",
                                      "hub.challenge": "1158201444"})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "x"},
                   {"hub.mode": "unsubscribe", "hub.verify_token": f"verify-{fake.phone_number_id}", "hub.challenge": "x"}, {}):
        assert (await http.get(HOOK, params=params)).status_code == 403


async def test_statuses_are_deduplicated_forward_only_and_out_of_order_safe(wa, fake):
    who = await customer(wa)
    message = await send(wa, who)
    await settle(message.id)
    [sent] = fake.sent
    events = fake.statuses(sent, "sent", "delivered", "read")
    codes = await fake.deliver(wa.api.http, HOOK, events, repeat=3, shuffle=True)
    assert codes == [200] * 9
    row = await Message.get(id=message.id)
    assert row.status is S.READ and row.read_at is not None
    # a late failure changes nothing now
    assert await fake.deliver(wa.api.http, HOOK, fake.statuses(sent, "failed")) == [200]
    assert (await Message.get(id=message.id)).status is S.READ


async def test_a_failed_status_after_acceptance(wa, fake):
    who = await customer(wa)
    message = await send(wa, who)
    await settle(message.id)
    [sent] = fake.sent
    await fake.deliver(wa.api.http, HOOK, fake.statuses(sent, "failed", error_code=131026) * 2)
    row = await Message.get(id=message.id)
    assert row.status is S.FAILED and row.last_error.startswith("whatsapp 131026")
    assert await is_unreachable(wa.id, who.id)
    await inbound(wa, fake, "I am on WhatsApp now")  # they wrote to us: reachable after all
    assert not await is_unreachable(wa.id, who.id)


async def test_bad_or_missing_signature_changes_nothing(wa, fake):
    who = await customer(wa)
    message = await send(wa, who)
    await settle(message.id)
    [sent] = fake.sent
    [event] = fake.statuses(sent, "read")
    raw, headers = fake.sign(event, secret="not-the-secret")
    assert (await wa.api.http.post(HOOK, content=raw, headers=headers)).status_code == 403
    assert (await wa.api.http.post(HOOK, content=raw, headers={"content-type": "application/json"})).status_code == 401
    raw, headers = fake.sign(event)
    assert (await wa.api.http.post(HOOK, content=raw + b" ", headers=headers)).status_code == 403  # body changed after signing
    stop = fake.customer_writes(WA_ID, "STOP")
    raw, headers = fake.sign(stop, secret="nope")
    assert (await wa.api.http.post(HOOK, content=raw, headers=headers)).status_code == 403
    assert (await Message.get(id=message.id)).status is S.SENT
    assert await InboundMessage.filter(tenant_id=wa.id).count() == 0
    assert await Consent.filter(tenant_id=wa.id).count() == 0


@pytest.mark.parametrize("word", ["STOP", "unsubscribe", "बंद", "বন্ধ"])
async def test_inbound_stop_withdraws_and_start_resumes(wa, fake, word):
    who = await customer(wa)
    await publish(wa.api)
    from seva_crm.core.common.ids import to_global_id
    assert (await grant(wa.api, to_global_id("Customer", who.id)))["errors"] == []
    assert await has_consent(wa.id, who.id, "marketing", "whatsapp")
    await inbound(wa, fake, f" {word}! ")
    for channel in ("whatsapp", "sms", "email"):
        assert not await has_consent(wa.id, who.id, "marketing", channel)
    row = await Consent.filter(tenant_id=wa.id, customer_id=who.id).order_by("-created_at").first()
    assert (row.granted, row.channel, row.source, row.evidence["keyword"].strip()) == (False, None, "stop_reply", f"{word}!")
    assert row.evidence["wamid"].startswith("wamid.")
    # service messages continue; marketing goes on no channel at all
    service = await send(wa, who)
    marketing = await send(wa, who, "offer", Purpose.MARKETING, {"offer": "10% off"})
    rows = await settle(service.id, marketing.id)
    assert (rows[0].status, rows[0].channel) == (S.SENT, "whatsapp")
    assert (rows[1].status, rows[1].channel, rows[1].last_error) == (S.FAILED, None, "no consent")
    assert [p["type"] for p, _ in fake.tries(E164)] == ["text"]  # only the service message reached WhatsApp
    await inbound(wa, fake, "START")
    for channel in ("whatsapp", "sms", "email"):
        assert await has_consent(wa.id, who.id, "marketing", channel)
    row = await Consent.filter(tenant_id=wa.id, customer_id=who.id).order_by("-created_at").first()
    assert (row.granted, row.channel, row.source, row.evidence["keyword"]) == (True, None, "stop_reply", "START")
    # a repeated STOP after START withdraws again; a second STOP in a row records nothing more
    await inbound(wa, fake, "stop")
    await inbound(wa, fake, "stop")
    assert await Consent.filter(tenant_id=wa.id, customer_id=who.id).count() == 4


async def test_user_preferences_stop_and_resume(wa, fake):
    who = await customer(wa)
    await publish(wa.api)
    from seva_crm.core.common.ids import to_global_id
    assert (await grant(wa.api, to_global_id("Customer", who.id)))["errors"] == []
    assert await fake.deliver(wa.api.http, HOOK, [fake.preference(WA_ID, "stop")], repeat=2) == [200, 200]
    assert not await has_consent(wa.id, who.id, "marketing", "whatsapp")
    assert not await has_consent(wa.id, who.id, "marketing", "sms")
    rows = await Consent.filter(tenant_id=wa.id, customer_id=who.id).order_by("-created_at")
    assert len(rows) == 2 and (rows[0].source, rows[0].channel, rows[0].granted) == ("provider", None, False)  # once
    await fake.deliver(wa.api.http, HOOK, [fake.preference(WA_ID, "resume")])
    assert await has_consent(wa.id, who.id, "marketing", "whatsapp")
    assert await has_consent(wa.id, who.id, "marketing", "sms")


async def test_a_later_every_channel_stop_beats_an_earlier_channel_grant(wa, fake):
    """Consent given for SMS and WhatsApp separately; STOP on WhatsApp (channel null, newer)
    decides for both, and for email, which never had a grant."""
    who = await customer(wa)
    await publish(wa.api)
    from seva_crm.core.common.ids import to_global_id
    for channel in ("SMS", "WHATSAPP"):
        assert (await grant(wa.api, to_global_id("Customer", who.id), channel=channel))["errors"] == []
    assert await has_consent(wa.id, who.id, "marketing", "sms") and not await has_consent(wa.id, who.id, "marketing", "email")
    await inbound(wa, fake, "STOP")
    assert not await has_consent(wa.id, who.id, "marketing", "sms")
    assert not await has_consent(wa.id, who.id, "marketing", "whatsapp")
    # a channel grant given after the STOP is newer again, and decides for that channel only
    assert (await grant(wa.api, to_global_id("Customer", who.id), channel="SMS"))["errors"] == []
    assert await has_consent(wa.id, who.id, "marketing", "sms")
    assert not await has_consent(wa.id, who.id, "marketing", "whatsapp")


async def test_start_on_whatsapp_does_not_undo_an_sms_stop(wa, fake):
    from seva_crm.core.privacy.consent import withdraw
    who = await customer(wa)
    await publish(wa.api)
    from seva_crm.core.common.ids import to_global_id
    assert (await grant(wa.api, to_global_id("Customer", who.id)))["errors"] == []
    from seva_crm.core.common.enums import ConsentSource
    await withdraw(wa.scope, who.id, "marketing", "sms", source=ConsentSource.STOP_REPLY)  # STOP by SMS
    await inbound(wa, fake, "STOP")
    await inbound(wa, fake, "START")
    assert await has_consent(wa.id, who.id, "marketing", "whatsapp")
    assert await has_consent(wa.id, who.id, "marketing", "email")
    assert not await has_consent(wa.id, who.id, "marketing", "sms")  # the SMS STOP still holds
    granted = await Consent.filter(tenant_id=wa.id, customer_id=who.id, granted=True, source="stop_reply")
    assert sorted(r.channel for r in granted) == ["email", "whatsapp"]


async def test_webhooks_reach_only_their_tenant(wa, fake, make_tenant):
    other = await make_tenant(name="Other")
    await create_customer(other.scope, {"name": "Same Number", "phone": PHONE})
    mine = await customer(wa)
    await inbound(wa, fake, "hi")
    assert await InboundMessage.filter(tenant_id=wa.id, customer_id=mine.id).count() == 1
    assert await InboundMessage.filter(tenant_id=other.id).count() == 0
    # an unknown number id: nothing of ours, answered 200, nothing stored
    stranger = FakeWhatsApp(phone_number_id="999", app_secret=fake.app_secret)
    raw, headers = stranger.sign(stranger.customer_writes(WA_ID, "STOP"))
    assert (await wa.api.http.post(HOOK, content=raw, headers=headers)).status_code == 200
    assert await InboundMessage.filter(tenant_id=wa.id).count() == 1
    assert await Tenant.filter(id=other.id).exists()


async def test_inbound_messages_are_exported_and_erased_with_the_customer(wa, fake):
    from seva_crm.core.platform.plugin_types import Disposition, RetentionDecision
    from seva_crm.core.privacy.sources import InboundMessages
    who = await customer(wa)
    await inbound(wa, fake, "my new address is 12 MG Road")
    source = InboundMessages()
    [exported] = await source.export(wa.id, who.id)
    assert exported["body"] == "my new address is 12 MG Road"
    [ref] = await source.plan(wa.id, who.id)
    await source.apply(wa.id, who.id, [(ref, RetentionDecision(Disposition.ANONYMISE, "traffic log", "test"))])
    row = await InboundMessage.get(tenant_id=wa.id, customer_id=who.id)
    assert (row.body, row.sender) == ("", "")
    await source.apply(wa.id, who.id, [(ref, RetentionDecision(Disposition.ERASE, "", ""))])
    assert await InboundMessage.filter(tenant_id=wa.id).count() == 0
