"""The email plugin against a real SMTP server (aiosmtpd, STARTTLS or implicit TLS, with login),
through the outbox and its jobs; one-click unsubscribe over the app; staff verification mail."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid

import httpx
import pytest

from seva_crm.plugins.email import hooks as email_plugin
from seva_crm.core.identity import auth
from seva_crm.core import jobs
from seva_crm.core.messaging import outbox
from seva_crm.core.platform.channels import OutgoingMessage, Purpose, Recipient, SendError
from seva_crm.core.customers.customers import create_customer
from seva_crm.core.common.enums import MessageStatus as S
from seva_crm.core.common.enums import VerificationPurpose
from seva_crm.core.models import AuditEvent, Consent, User
from seva_crm.plugins.email.models import EmailSuppression
from seva_crm.plugins.email.suppression import is_suppressed
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.plugins.email.webhooks import make_token, read_token
from tests.channel_plugin import ChannelPlugin, NullChannel
from tests.jobs_support import fast_outbox, settle  # noqa: F401 - fixtures
from tests.smtp_support import free_port, smtp, smtp_certs, smtp_tls  # noqa: F401 - fixtures

BODY = "Hello Asha Devi,\n\nyour PAN card is ready <at the counter> & waiting.\nBring your receipt."


@pytest.fixture
async def email_jobs(fast_outbox):
    """The email plugin, and an always-succeeding "sms" channel to fall back to, on in-process jobs."""
    set_plugins(Plugins(discover=False, extra=(email_plugin, ChannelPlugin([NullChannel("sms")]))))
    broker = jobs.setup_jobs("", namespace="seva-test-email")
    runner = await asyncio.to_thread(lambda: jobs.Runner(broker, threads=2).start())
    yield
    await asyncio.to_thread(runner.stop)
    set_plugins(None)
    jobs.reset_jobs()


async def use_tenant_server(tenant, server, **overrides):
    await update_plugin_settings(tenant.id, "email", enabled=True, settings=server.tenant_settings(**overrides))


async def customer(tenant, email="asha@example.com", **fields):
    return await create_customer(tenant.scope, {"name": "Asha Devi", "email": email, "preferred_channel": "email", **fields})


async def queue(tenant, who, purpose=Purpose.SERVICE, **variables):
    return await outbox.queue_message(tenant.id, who.id, purpose=purpose, template="document_ready", body=BODY,
                                      variables=variables)


async def consent_to_marketing(tenant, who):
    await Consent.create(tenant_id=tenant.id, customer_id=who.id, purpose="marketing", channel="email", granted=True,
                         source="staff")


def parts(message) -> dict[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    return {p.get_content_type(): p.get_content().replace("\r\n", "\n") for p in message.iter_parts()}


async def test_service_and_marketing_mail_over_starttls(tenant, email_jobs, smtp):
    await use_tenant_server(tenant, smtp)
    asha = await customer(tenant)
    await consent_to_marketing(tenant, asha)
    service = await queue(tenant, asha, subject="Your PAN card is ready")
    marketing = await queue(tenant, asha, Purpose.MARKETING, subject="Diwali offers")
    rows = await settle(service.id, marketing.id)
    assert [(r.status, r.channel, r.attempts) for r in rows] == [(S.SENT, "email", 1)] * 2
    assert smtp.handler.logins == ["seva-smtp", "seva-smtp"]  # logged in, after STARTTLS (the server requires both)

    [got_service] = [m for m in smtp.handler.to("asha@example.com") if m["Subject"] == "Your PAN card is ready"]
    [got_marketing] = [m for m in smtp.handler.to("asha@example.com") if m["Subject"] == "Diwali offers"]
    for got, row in ((got_service, rows[0]), (got_marketing, rows[1])):
        assert got["From"] == "Test Centre <hello@testcentre.example>"
        assert got["To"] == "Asha Devi <asha@example.com>"
        assert got["Message-ID"] == f"<seva.{row.id.hex}@testcentre.example>" == row.provider_id
        body = parts(got)
        assert body["text/plain"].startswith(BODY)
        assert "your PAN card is ready &lt;at the counter&gt; &amp; waiting.<br>Bring your receipt." in body["text/html"]
        assert "<at the counter>" not in body["text/html"]

    assert got_service["List-Unsubscribe"] is None and got_service["List-Unsubscribe-Post"] is None
    assert "Unsubscribe" not in parts(got_service)["text/html"]
    link, mailto = re.fullmatch(r"<(.+)>, <(.+)>", got_marketing["List-Unsubscribe"]).groups()
    token = make_token(tenant.id, asha.id)
    assert link == f"http://127.0.0.1:8000/webhooks/email/u/{token}"
    assert mailto.startswith("mailto:hello@testcentre.example?subject=unsubscribe")
    assert got_marketing["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in parts(got_marketing)["text/plain"]


async def test_one_click_unsubscribe_stops_marketing_email_but_not_service(tenant, email_jobs, smtp, app):
    await use_tenant_server(tenant, smtp)
    asha = await customer(tenant)
    await consent_to_marketing(tenant, asha)
    first = await queue(tenant, asha, Purpose.MARKETING, subject="Offer 1")
    await settle(first.id)
    [mail] = smtp.handler.to("asha@example.com")
    link = re.match(r"<(.+?)>", mail["List-Unsubscribe"]).group(1)
    path = link.removeprefix("http://127.0.0.1:8000")

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 4321)),
                               base_url="http://test", headers={"user-agent": "MailClient/1.0"})
    ledger = lambda: Consent.filter(tenant_id=tenant.id, customer_id=asha.id).count()  # noqa: E731
    before = await ledger()

    page = await client.get(path)  # a GET (a link scanner) never unsubscribes
    assert page.status_code == 200 and 'method="post"' in page.text and "Test Centre" in page.text
    body, sig = path.rsplit("/", 1)[1].split(".")
    tampered = f"{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{sig}"
    other_customer = make_token(tenant.id, tenant.id).split(".")[0] + "." + sig
    for bad in (tampered, other_customer, "garbage", f"{body}."):
        response = await client.post(f"/webhooks/email/u/{bad}", content="List-Unsubscribe=One-Click",
                                     headers={"content-type": "application/x-www-form-urlencoded"})
        assert response.status_code == 404, bad
    wrong_body = await client.post(path, content="hello=1", headers={"content-type": "application/x-www-form-urlencoded"})
    assert wrong_body.status_code == 400
    assert await ledger() == before

    response = await client.post(path, content="List-Unsubscribe=One-Click",
                                 headers={"content-type": "application/x-www-form-urlencoded"})  # no login
    assert response.status_code == 200 and "no more marketing emails" in response.text
    latest = await Consent.filter(tenant_id=tenant.id, customer_id=asha.id).order_by("-created_at").first()
    assert (latest.purpose, latest.channel, latest.granted, latest.source) == ("marketing", "email", False, "unsubscribe")
    assert latest.evidence["ip"] == "203.0.113.9" and latest.evidence["user_agent"] == "MailClient/1.0"
    assert await AuditEvent.filter(tenant_id=tenant.id, action="consent.withdrawn").count() == 1
    again = await client.post(path, data={"List-Unsubscribe": "One-Click"})  # the confirmation page's form: a repeat
    assert again.status_code == 200 and await ledger() == before + 1

    marketing = await queue(tenant, asha, Purpose.MARKETING, subject="Offer 2")
    service = await queue(tenant, asha, subject="Receipt")
    rows = await settle(marketing.id, service.id)
    assert [(r.status, r.last_error) for r in rows] == [(S.FAILED, "no consent"), (S.SENT, "")]
    assert [m["Subject"] for m in smtp.handler.to("asha@example.com")] == ["Offer 1", "Receipt"]
    await client.aclose()


async def test_a_hard_bounce_suppresses_the_address_and_falls_back(tenant, make_tenant, email_jobs, smtp):
    await use_tenant_server(tenant, smtp)
    gone = await customer(tenant, email="bounce-1@example.com", phone="98765 43210")
    first = await queue(tenant, gone)
    [row] = await settle(first.id)
    assert (row.status, row.channel, row.channels_tried) == (S.SENT, "sms", ["email"])  # fell back at once
    [suppressed] = await EmailSuppression.filter(tenant_id=tenant.id)
    assert (suppressed.reason, suppressed.detail, suppressed.message_id) == (
        "bounce", "the server refused the recipient (550 5.1.1)", row.id)  # codes only: not the server's text
    assert "bounce-1" not in suppressed.address_hash
    [event] = await AuditEvent.filter(tenant_id=tenant.id, action="email.suppressed")
    assert event.subject_id == str(gone.id)

    # every later email to that address is refused before it reaches the server, for any customer
    again = await customer(tenant, email="Bounce-1@Example.com", phone="98765 43211", name="Someone Else")
    second = await queue(tenant, again)
    [row] = await settle(second.id)
    assert (row.status, row.channel, row.channels_tried) == (S.SENT, "sms", ["email"])
    assert smtp.handler.rcpt_seen["bounce-1@example.com"] == 1 and smtp.handler.received == []

    # the adapter's refusal is permanent, with fallback (the outbox tries the next channel)
    from seva_crm.plugins.email.adapter import EmailChannel
    from seva_crm.plugins.email.settings import EmailSettings

    outgoing = OutgoingMessage(id=uuid.uuid4(), tenant_id=tenant.id, channel="email", purpose=Purpose.SERVICE,
                               template="t", body="x", variables={}, idempotency_key="k",
                               recipient=Recipient(gone.id, "Asha", None, "BOUNCE-1@example.com", "en"))
    with pytest.raises(SendError) as refused:
        await EmailChannel().send(outgoing, EmailSettings(**{k: v for k, v in {
            "host": "127.0.0.1", "port": smtp.port, "from_address": "a@b.example"}.items()}))
    assert (refused.value.code, refused.value.retryable, refused.value.fallback) == ("suppressed", False, True)
    assert smtp.handler.rcpt_seen["bounce-1@example.com"] == 1

    # suppression is per tenant: one row for this tenant (counted within it: the database may hold
    # other tenants' rows for the same address, from other tests or runs), none for another tenant
    assert await EmailSuppression.filter(tenant_id=tenant.id, address_hash=suppressed.address_hash).count() == 1
    other = await make_tenant(name="Other Centre")
    assert await EmailSuppression.filter(tenant_id=other.id, address_hash=suppressed.address_hash).count() == 0
    assert not await is_suppressed(other.id, "bounce-1@example.com") and await is_suppressed(tenant.id, "bounce-1@example.com")


async def test_a_deferred_recipient_is_retried(tenant, email_jobs, smtp):
    smtp.handler.greylist_times = 2
    await use_tenant_server(tenant, smtp)
    who = await customer(tenant, email="greylist@example.com")
    [row] = await settle((await queue(tenant, who)).id)
    assert (row.status, row.channel, row.attempts) == (S.SENT, "email", 3)
    assert smtp.handler.rcpt_seen["greylist@example.com"] == 3
    assert len(smtp.handler.to("greylist@example.com")) == 1
    assert await EmailSuppression.filter(tenant_id=tenant.id).count() == 0


async def test_an_unreachable_server_is_retried_then_gives_up(tenant, email_jobs, smtp, fast_outbox):
    await use_tenant_server(tenant, smtp, port=free_port())  # nothing listens there
    [row] = await settle((await queue(tenant, await customer(tenant))).id)
    assert row.status is S.FAILED and row.attempts == fast_outbox.outbox_max_attempts
    assert row.last_error.startswith("email smtp_unavailable: the SMTP server could not be reached")


async def test_a_refused_login_fails_at_once_with_a_configuration_alert(tenant, email_jobs, smtp, caplog):
    await use_tenant_server(tenant, smtp, password="wrong-password-123")
    with caplog.at_level(logging.INFO):
        [row] = await settle((await queue(tenant, await customer(tenant))).id)
    assert (row.status, row.attempts) == (S.FAILED, 1)
    assert row.last_error.startswith("email smtp_auth: the SMTP server refused the login (535")
    alerts = [r.getMessage() for r in caplog.records if "configuration alert" in r.getMessage()]
    assert alerts and "127.0.0.1" in alerts[0]
    assert not any("wrong-password-123" in r.getMessage() or "asha@example.com" in r.getMessage() for r in caplog.records)


async def test_implicit_tls_through_the_instance_server(tenant, email_jobs, smtp_tls, monkeypatch):
    """A tenant that enabled email without a server of its own sends through SEVA_SMTP_*, here
    on a 465-style server (TLS from the first byte), under its own from name."""
    smtp_tls.use_as_instance_server(monkeypatch)
    await update_plugin_settings(tenant.id, "email", enabled=True, settings={"fromName": "Test Centre"})
    [row] = await settle((await queue(tenant, await customer(tenant), subject="Hi")).id)
    assert (row.status, row.channel, row.last_error) == (S.SENT, "email", ""), row.last_error
    [got] = smtp_tls.handler.to("asha@example.com")
    assert got["From"] == "Test Centre <noreply@seva.example>" and got["Message-ID"] == f"<seva.{row.id.hex}@seva.example>"
    assert smtp_tls.handler.logins == ["seva-smtp"]


async def test_without_any_server_email_is_not_offered(tenant, email_jobs):
    await update_plugin_settings(tenant.id, "email", enabled=True, settings={})
    who = await customer(tenant, phone="98765 43210")
    [row] = await settle((await queue(tenant, who)).id)
    assert (row.status, row.channel, row.channels_tried) == (S.SENT, "sms", [])


async def test_staff_email_verification_goes_through_the_instance_server(tenant, smtp, monkeypatch):
    smtp.use_as_instance_server(monkeypatch)
    user = await User.get(email=tenant.owner_email)
    await auth.start_verification(user.id, VerificationPurpose.EMAIL)
    [mail] = smtp.handler.to(tenant.owner_email)
    assert mail["From"] == "Seva CRM <noreply@seva.example>" and mail["Subject"] == "Your Seva CRM verification code"
    code = re.search(r"code is (\d{6})", parts(mail)["text/plain"]).group(1)
    confirmed = await auth.confirm_verification(user.id, VerificationPurpose.EMAIL, code)
    assert confirmed.email_verified_at is not None


async def test_staff_email_without_a_server_uses_the_development_channel_only_in_development(monkeypatch, caplog):
    from seva_crm.core.messaging import notify
    from seva_crm.core.common.settings import Environment, get_settings

    monkeypatch.setattr(get_settings(), "smtp_host", "")
    with caplog.at_level(logging.WARNING, "seva.notify"):
        await notify.send_staff_code(__import__("uuid").uuid4(), VerificationPurpose.EMAIL, "a@example.com", "123456")
    assert "development channel" in caplog.text and "a@example.com" not in caplog.text
    monkeypatch.setattr(get_settings(), "env", Environment.PRODUCTION)
    with pytest.raises(notify.NoChannel):
        await notify.send_staff_code(__import__("uuid").uuid4(), VerificationPurpose.EMAIL, "a@example.com", "123456")


def test_unsubscribe_tokens_are_signed():
    import uuid

    t, c = uuid.uuid4(), uuid.uuid4()
    token = make_token(t, c)
    assert read_token(token) == (t, c, "marketing")
    body, sig = token.split(".")
    assert read_token(f"{body}.{sig[:-1]}A" if sig[-1] != "A" else f"{body}.{sig[:-1]}B") is None
    assert read_token(make_token(t, c, "offers").split(".")[0] + "." + sig) is None
    assert read_token("") is None and read_token("..") is None
