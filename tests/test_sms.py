"""The SMS plugin against local fakes of MSG91 and SSL Wireless over real HTTP: segments,
each gateway's successes and error classes, retries only where the gateway is idempotent,
delivery reports, opt-out, queue-time limits and staff phone verification codes."""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from seva_crm.core.messaging import outbox
from seva_crm.core.identity.auth import confirm_verification, start_verification
from seva_crm.core.platform.channels import OutgoingMessage, Purpose, Recipient, SendError
from seva_crm.core.customers.customers import create_customer
from seva_crm.core.common.enums import MessageStatus as S
from seva_crm.core.common.enums import Region, Role, VerificationPurpose
from seva_crm.core.common.errors import DomainError
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import Consent, Message
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.core.privacy.consent import has_consent
from seva_crm.core.platform.tenant_plugins import plugin_config
from seva_crm.core.identity.tenants import create_user
from seva_crm.plugins.sms.fake import FakeMsg91, FakeSslWireless
from seva_crm.plugins.sms import hooks as sms_plugin
from seva_crm.plugins.sms.adapter import channel
from seva_crm.plugins.sms.segments import count_segments
from seva_crm.plugins.sms.webhooks import routes
from tests.conftest import PASSWORD
from tests.jobs_support import fast_outbox, settle, start_jobs, stop_jobs  # noqa: F401 - fixtures

IN_PHONE, BD_PHONE = "+919876543210", "+8801712345678"
BILL_TEXT = "Dear {#var#}, your bill of Rs {#var#} is due on {#var#}. - SEVAIN"
BILL = {"dlt_template_id": "1207161234567890123", "text": BILL_TEXT, "variables": ["name", "amount", "due"]}
BILL_VARS = {"name": "Asha", "amount": "450", "due": "30 Nov"}
BILL_BODY = "Dear Asha, your bill of Rs 450 is due on 30 Nov. - SEVAIN"
OTP_TEXT = "{#var#} is your SEVA verification code. It expires in 10 minutes. - SEVAIN"


# --- segments ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "encoding", "units", "parts"), [
    ("Hello Asha, your PAN card is ready.", "GSM-7", 35, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("{x}", "GSM-7", 5, 1),  # braces count 2
    ("€" * 80, "GSM-7", 160, 1),
    ("€" * 80 + "a", "GSM-7", 161, 2),
    ("^{}[]~\\|€", "GSM-7", 18, 1),
    ("आपका बिल तैयार है", "UCS-2", 17, 1),  # Devanagari: one unit per code point
    ("ক" * 70, "UCS-2", 70, 1),  # Bengali
    ("ক" * 71, "UCS-2", 71, 2),
    ("ক" * 134, "UCS-2", 134, 2),
    ("ক" * 135, "UCS-2", 135, 3),
    ("😀" * 35, "UCS-2", 70, 1),  # emoji: two UTF-16 units each
    ("😀" * 35 + "a", "UCS-2", 71, 2),
    ("a" * 159 + "ç", "UCS-2", 160, 3),  # one non-GSM character makes the whole text UCS-2
    ("", "GSM-7", 0, 0),
])
def test_segment_counting(text, encoding, units, parts):
    found = count_segments(text)
    assert (found.encoding, found.units, found.count) == (encoding, units, parts)


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def msg91():
    fake = FakeMsg91()
    fake.start()
    fake.register(BILL["dlt_template_id"], BILL_TEXT)
    fake.register("1207169999999999999", OTP_TEXT)
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def ssl():
    fake = FakeSslWireless()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def gateways_at_the_fakes(msg91, ssl, plugin_env):
    """The instance's gateway addresses (SEVA_SMS_*_BASE_URL) are the fakes'."""
    plugin_env(SEVA_SMS_MSG91_BASE_URL=msg91.url, SEVA_SMS_SSLWIRELESS_BASE_URL=ssl.url)


@pytest.fixture
async def jobs(fast_outbox):
    broker, runner = await asyncio.to_thread(start_jobs, "in-process", sms_plugin)
    yield
    await asyncio.to_thread(stop_jobs, broker, runner)


@pytest.fixture
def sms_only():
    set_plugins(Plugins(discover=False, extra=(sms_plugin,)))
    yield
    set_plugins(None)


async def configure(tenant_id, fake, **extra) -> str:
    token = secrets.token_urlsafe(24)
    if isinstance(fake, FakeMsg91):
        base = {"gateway": "msg91", "apiToken": fake.authkey, "sender": "SEVAIN", "entityId": "1201159100000000000"}
    else:
        base = {"gateway": "sslwireless", "apiToken": fake.api_token, "sender": fake.sid}
    await update_plugin_settings(tenant_id, "sms", enabled=True,
                                 settings={**base, "webhookToken": token, **extra})
    return token


def outgoing(tenant_id, phone, body=BILL_BODY, binding=None, variables=None, key=None, **kw) -> OutgoingMessage:
    message_id = uuid.uuid4()
    return OutgoingMessage(id=message_id, tenant_id=tenant_id, channel="sms", purpose=Purpose.SERVICE,
                           template="bill_due", body=body, variables=BILL_VARS if variables is None else variables,
                           recipient=Recipient(None, "Asha", phone, None, "en"),
                           idempotency_key=key or f"seva-{message_id.hex}", binding=BILL if binding is None else binding, **kw)


async def send(tenant_id, message):
    return await channel.send(message, await plugin_config(tenant_id, "sms"))


async def failure(tenant_id, message) -> SendError:
    with pytest.raises(SendError) as caught:
        await send(tenant_id, message)
    return caught.value


@pytest.fixture
def hooks():
    app = Starlette(routes=[Mount("/webhooks/sms", routes=routes())])
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://seva.test")
    return client


def hook_url(gateway, tenant_id, token, inbound=False) -> str:
    return f"http://seva.test/webhooks/sms/{gateway}/{to_global_id('Tenant', tenant_id)}/{token}" + ("/inbound" if inbound else "")


# --- MSG91 ------------------------------------------------------------------------------------

async def test_msg91_sends_the_registered_dlt_text(tenant, msg91):
    await configure(tenant.id, msg91, pricePerSegment="0.25")
    result = await send(tenant.id, outgoing(tenant.id, IN_PHONE))
    [sent] = [s for s in msg91.sent if s["request_id"] == result.provider_id]
    assert sent == {"request_id": result.provider_id, "mobiles": "919876543210", "text": BILL_BODY,
                    "template_id": BILL["dlt_template_id"]}
    assert result.detail == {"encoding": "GSM-7", "units": len(BILL_BODY), "segments": 1, "estimated_cost": "0.25",
                             "gateway": "msg91"}


async def test_msg91_refuses_what_does_not_match_a_dlt_template_before_sending(tenant, msg91):
    await configure(tenant.id, msg91)
    before = msg91.requests
    for message in (outgoing(tenant.id, IN_PHONE, binding={}),  # no binding: India cannot send
                    outgoing(tenant.id, IN_PHONE, body="Dear Asha, pay now!"),  # not the registered text
                    outgoing(tenant.id, IN_PHONE, variables={"name": "Asha", "amount": "450"}),  # a variable missing
                    outgoing(tenant.id, IN_PHONE, binding={**BILL, "variables": ["name", "amount"]})):
        error = await failure(tenant.id, message)
        assert (error.code, error.retryable, error.fallback) == ("template_mismatch", False, False)
    assert msg91.requests == before


@pytest.mark.parametrize(("case", "code"), [
    ("auth", "auth"), ("dnd", "dnd"), ("invalid_number", "invalid_number"), ("unregistered", "template_mismatch"),
])
async def test_msg91_error_classes_are_permanent(tenant, msg91, case, code):
    phone = IN_PHONE
    binding = BILL
    if case == "auth":
        await update_plugin_settings(tenant.id, "sms", enabled=True, settings={
            "gateway": "msg91", "apiToken": "wrong", "sender": "SEVAIN", "entityId": "1201159100000000000"})
    else:
        await configure(tenant.id, msg91)
    if case == "dnd":
        phone = "+919812345678"
        msg91.dnd.add(phone[1:])
    if case == "invalid_number":
        phone = "+911123456789"  # a landline: not an SMS number
    if case == "unregistered":
        binding = {**BILL, "dlt_template_id": "1207160000000000000"}
    error = await failure(tenant.id, outgoing(tenant.id, phone, binding=binding))
    assert (error.code, error.retryable) == (code, False)


async def test_msg91_is_not_retried_blindly_after_a_lost_answer(tenant, msg91):
    await configure(tenant.id, msg91)
    sent_before = len(msg91.sent)
    msg91.fail_next(1, 504, after_work=True)  # MSG91 sent it, the answer is lost
    error = await failure(tenant.id, outgoing(tenant.id, IN_PHONE))
    assert (error.code, error.retryable) == ("unknown_outcome", False)
    msg91.fail_next(1, 503)  # a 5xx says nothing certain either
    error = await failure(tenant.id, outgoing(tenant.id, IN_PHONE))
    assert (error.code, error.retryable) == ("unknown_outcome", False)
    assert len(msg91.sent) == sent_before + 1


async def test_a_connection_refused_never_reached_the_gateway_and_is_retried(tenant, msg91, plugin_env):
    await configure(tenant.id, msg91)
    with socketless_port() as port:
        plugin_env(SEVA_SMS_MSG91_BASE_URL=f"http://127.0.0.1:{port}")
        error = await failure(tenant.id, outgoing(tenant.id, IN_PHONE))
    assert (error.code, error.retryable) == ("network", True)


class socketless_port:
    def __enter__(self) -> int:
        import socket
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        return self.port

    def __exit__(self, *exc) -> None:
        pass


# --- SSL Wireless -----------------------------------------------------------------------------

async def test_ssl_wireless_sends_with_csms_id(tenant, ssl):
    await configure(tenant.id, ssl)
    message = outgoing(tenant.id, BD_PHONE, body="আপনার বিল প্রস্তুত", binding={})
    result = await send(tenant.id, message)
    [sent] = [s for s in ssl.sent if s["csms_id"] == message.idempotency_key]
    assert (sent["msisdn"], sent["sms"], sent["reference_id"]) == ("8801712345678", "আপনার বিল প্রস্তুত", result.provider_id)
    assert result.detail["encoding"] == "UCS-2" and result.detail["segments"] == 1


@pytest.mark.parametrize(("settings", "phone", "code"), [
    ({"apiToken": "wrong"}, BD_PHONE, "auth"),
    ({"sender": "OTHERSID"}, BD_PHONE, "sender"),
    ({}, "+8801212345678", "invalid_number"),  # 012 is not a mobile prefix
    ({}, IN_PHONE, "invalid_number"),  # refused before sending: not a Bangladesh number
])
async def test_ssl_wireless_error_classes_are_permanent(tenant, ssl, settings, phone, code):
    await configure(tenant.id, ssl, **settings)
    error = await failure(tenant.id, outgoing(tenant.id, phone, body="Your bill is ready", binding={}))
    assert (error.code, error.retryable) == (code, False)


async def test_ssl_wireless_retry_after_a_lost_answer_sends_one_sms(make_tenant, ssl, jobs):
    tenant = await make_tenant(Region.BD)
    await configure(tenant.id, ssl)
    ssl.fail_next(1, 504, after_work=True)  # sent, but the answer is lost
    asha = await create_customer(tenant.scope, {"name": "Asha", "phone": BD_PHONE})
    message = await outbox.queue_message(tenant.id, asha.id, purpose=Purpose.SERVICE, template="bill", body="Your bill is ready")
    assert message.detail["sms"]["segments"] == 1
    [row] = await settle(message.id)
    assert (row.status, row.channel, row.attempts) == (S.SENT, "sms", 2)
    assert [s["csms_id"] for s in ssl.sent].count(row.idempotency_key) == 1
    [sent] = [s for s in ssl.sent if s["csms_id"] == row.idempotency_key]
    assert row.provider_id == sent["reference_id"] and row.detail["sms"]["gateway"] == "sslwireless"


async def test_msg91_through_the_outbox_without_a_binding_fails_once(tenant, msg91, jobs):
    await configure(tenant.id, msg91)
    asha = await create_customer(tenant.scope, {"name": "Asha", "phone": IN_PHONE})
    before = msg91.requests
    message = await outbox.queue_message(tenant.id, asha.id, purpose=Purpose.SERVICE, template="bill", body=BILL_BODY)
    [row] = await settle(message.id)
    assert (row.status, row.attempts) == (S.FAILED, 1)
    assert row.last_error.startswith("sms template_mismatch: no DLT template")
    assert msg91.requests == before


async def test_a_text_over_the_segment_limit_is_refused_at_queue_time(make_tenant, ssl, sms_only):
    tenant = await make_tenant(Region.BD)
    await configure(tenant.id, ssl, maxSegments=2)
    asha = await create_customer(tenant.scope, {"name": "Asha", "phone": BD_PHONE})
    with pytest.raises(DomainError) as caught:
        await outbox.queue_message(tenant.id, asha.id, purpose=Purpose.SERVICE, template="long", body="ক" * 135)
    assert caught.value.errors[0].field == "body" and "too_long: 3 SMS parts (UCS-2); the limit is 2" in str(caught.value)
    ok = await outbox.queue_message(tenant.id, asha.id, purpose=Purpose.SERVICE, template="long", body="ক" * 134)
    assert ok.detail == {"sms": {"encoding": "UCS-2", "units": 134, "segments": 2}}


# --- delivery reports and opt-out -------------------------------------------------------------

async def sent_message(tenant, customer, provider_id, key=None) -> Message:
    return await Message.create(tenant_id=tenant.id, customer_id=customer.id, purpose="service", template="bill",
                                body=BILL_BODY, status=S.SENT, channel="sms", provider_id=provider_id,
                                idempotency_key=key or f"seva-{uuid.uuid4().hex}", attempts=1)


async def test_msg91_reports_move_status_forward_only(tenant, msg91, hooks):
    token = await configure(tenant.id, msg91)
    asha = await create_customer(tenant.scope, {"name": "Asha", "phone": IN_PHONE})
    result = await send(tenant.id, outgoing(tenant.id, IN_PHONE))
    message = await sent_message(tenant, asha, result.provider_id)
    url = hook_url("msg91", tenant.id, token)
    response = await msg91.report(url, result.provider_id, "919876543210", "1", "Delivered", client=hooks)
    assert response.status_code == 200 and response.json()["applied"] == 1
    assert (await Message.get(id=message.id)).status is S.DELIVERED
    late_failure = await msg91.report(url, result.provider_id, "919876543210", "2", "Failed", "Absent subscriber", client=hooks)
    assert late_failure.json()["applied"] == 0  # delivered never goes back to failed
    row = await Message.get(id=message.id)
    assert row.status is S.DELIVERED and row.delivered_at is not None


@pytest.mark.parametrize(("status", "reason", "kind"), [
    ("9", "NDNC", "dnd"), ("16", "DLT template scrubbing failed", "template_mismatch"),
    ("2", "Invalid number", "invalid_number"), ("2", "Absent subscriber", "invalid_number"),
    ("2", "Handset busy", "undelivered"),
])
async def test_msg91_failure_reports_are_classified(tenant, msg91, hooks, status, reason, kind):
    token = await configure(tenant.id, msg91)
    asha = await create_customer(tenant.scope, {"name": "Asha", "phone": IN_PHONE})
    message = await sent_message(tenant, asha, f"req-{uuid.uuid4().hex[:8]}")
    response = await msg91.report(hook_url("msg91", tenant.id, token), message.provider_id, "919876543210", status,
                                  "Failed", reason, client=hooks)
    assert response.json()["applied"] == 1
    row = await Message.get(id=message.id)
    assert row.status is S.FAILED and row.last_error.startswith(f"sms {kind}:")


async def test_a_dnd_report_withdraws_marketing_sms_consent(tenant, msg91, hooks):
    token = await configure(tenant.id, msg91)
    asha = await create_customer(tenant.scope, {"name": "Asha", "phone": IN_PHONE})
    await Consent.create(tenant_id=tenant.id, customer_id=asha.id, purpose="marketing", channel=None, granted=True, source="staff")
    message = await sent_message(tenant, asha, f"req-{uuid.uuid4().hex[:8]}")
    await msg91.report(hook_url("msg91", tenant.id, token), message.provider_id, "919876543210", "9", "NDNC", client=hooks)
    assert not await has_consent(tenant.id, asha.id, "marketing", "sms")
    assert await has_consent(tenant.id, asha.id, "marketing", "whatsapp")  # only SMS
    [row] = await Consent.filter(tenant_id=tenant.id, customer_id=asha.id, granted=False)
    assert (row.channel, row.source) == ("sms", "stop_reply")


async def test_ssl_wireless_reports_find_the_message_by_csms_id(make_tenant, ssl, hooks):
    tenant = await make_tenant(Region.BD)
    token = await configure(tenant.id, ssl)
    asha = await create_customer(tenant.scope, {"name": "Asha", "phone": BD_PHONE})
    message = outgoing(tenant.id, BD_PHONE, body="Your bill is ready", binding={})
    result = await send(tenant.id, message)
    row = await sent_message(tenant, asha, result.provider_id, key=message.idempotency_key)
    url = hook_url("sslwireless", tenant.id, token)
    assert (await ssl.report(url, message.idempotency_key, "FAILED", "Subscriber in DND", client=hooks)).json()["applied"] == 1
    failed = await Message.get(id=row.id)
    assert failed.status is S.FAILED and failed.last_error.startswith("sms dnd")
    assert (await ssl.report(url, message.idempotency_key, "DELIVERED", client=hooks)).json()["applied"] == 0


async def test_report_urls_need_the_tenants_token(tenant, make_tenant, msg91, hooks):
    token = await configure(tenant.id, msg91)
    other = await make_tenant()
    other_token = await configure(other.id, msg91)
    asha = await create_customer(tenant.scope, {"name": "Asha", "phone": IN_PHONE})
    message = await sent_message(tenant, asha, f"req-{uuid.uuid4().hex[:8]}")
    for url in (hook_url("msg91", tenant.id, "x" * 32), hook_url("msg91", tenant.id, other_token),
                hook_url("sslwireless", tenant.id, token), hook_url("msg91", other.id, token)):
        response = await msg91.report(url, message.provider_id, "919876543210", "1", client=hooks)
        assert response.status_code == 404
    # the other tenant's valid URL cannot touch this tenant's message
    response = await msg91.report(hook_url("msg91", other.id, other_token), message.provider_id, "919876543210", "1", client=hooks)
    assert response.json()["applied"] == 0
    assert (await Message.get(id=message.id)).status is S.SENT


@pytest.mark.parametrize("reply", ["STOP", " stop ", "बंद", "বন্ধ"])
async def test_a_stop_reply_withdraws_marketing_sms_consent(make_tenant, ssl, hooks, reply):
    tenant = await make_tenant(Region.BD)
    token = await configure(tenant.id, ssl)
    asha = await create_customer(tenant.scope, {"name": "Asha", "phone": BD_PHONE})
    await Consent.create(tenant_id=tenant.id, customer_id=asha.id, purpose="marketing", channel="sms", granted=True, source="staff")
    response = await hooks.post(hook_url("sslwireless", tenant.id, token, inbound=True), data={"msisdn": "8801712345678", "message": reply})
    assert response.json() == {"status": "ok", "withdrawn": 1}
    assert not await has_consent(tenant.id, asha.id, "marketing", "sms")
    again = await hooks.post(hook_url("sslwireless", tenant.id, token, inbound=True), data={"msisdn": "01712345678", "message": "STOP"})
    assert again.json()["withdrawn"] == 0  # already withdrawn: nothing added
    chat = await hooks.post(hook_url("sslwireless", tenant.id, token, inbound=True),
                            data={"msisdn": "8801712345678", "message": "stop by at 5?"})
    assert chat.json()["withdrawn"] == 0


# --- staff phone verification -----------------------------------------------------------------

async def test_staff_phone_codes_go_through_the_tenants_msg91(tenant, msg91, sms_only):
    await configure(tenant.id, msg91, otpDltTemplateId="1207169999999999999", otpText=OTP_TEXT)
    user = await create_user(tenant.id, f"staff-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, Role.AGENT)
    await start_verification(user.id, VerificationPurpose.PHONE, phone="98765 43211")
    sent = msg91.sent[-1]
    assert sent["mobiles"] == "919876543211" and sent["template_id"] == "1207169999999999999"
    code = re.match(r"(\d+) is your SEVA verification code", sent["text"]).group(1)
    verified = await confirm_verification(user.id, VerificationPurpose.PHONE, code)
    assert verified.phone == "+919876543211" and verified.phone_verified_at is not None


async def test_staff_phone_codes_go_through_ssl_wireless(make_tenant, ssl, sms_only):
    tenant = await make_tenant(Region.BD)
    await configure(tenant.id, ssl)
    user = await create_user(tenant.id, f"staff-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, Role.AGENT)
    await start_verification(user.id, VerificationPurpose.PHONE, phone="01712345679")
    sent = ssl.sent[-1]
    assert sent["msisdn"] == "8801712345679" and sent["csms_id"].startswith("otp-")
    code = sent["sms"].split()[0]
    verified = await confirm_verification(user.id, VerificationPurpose.PHONE, code)
    assert verified.phone == "+8801712345679"


async def test_without_an_sms_plugin_development_logs_the_code(tenant, sms_only, caplog):
    user = await create_user(tenant.id, f"staff-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, Role.AGENT)
    with caplog.at_level("WARNING", logger="seva.notify"):
        await start_verification(user.id, VerificationPurpose.PHONE, phone="98765 43212")
    assert "development channel: phone verification code" in caplog.text
