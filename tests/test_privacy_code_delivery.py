"""A code no channel can deliver (India SMS without a DLT template for it, at a faithful MSG91
fake) is not left as if sent: a new code goes to the subject's email on record (received by the
aiosmtpd server) and confirms the request; with no other address, the admins are alerted and the
audit log says so."""

from __future__ import annotations

import asyncio
import re
import secrets
import time

import pytest

from seva_crm.core import jobs
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import AuditEvent, Message
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.plugins.dpdp import hooks as dpdp
from seva_crm.plugins.email import hooks as email_plugin
from seva_crm.plugins.sms import hooks as sms_plugin
from seva_crm.plugins.sms.fake import FakeMsg91
from tests.conftest import Api
from tests.jobs_support import fast_outbox, settle  # noqa: F401 - fixtures
from tests.smtp_support import smtp, smtp_certs  # noqa: F401 - fixtures
from tests.test_customers import create
from tests.test_email import parts, use_tenant_server
from tests.test_privacy_public import CONTACT


@pytest.fixture
def msg91(plugin_env):
    fake = FakeMsg91()
    fake.start()
    plugin_env(SEVA_SMS_MSG91_BASE_URL=fake.url)
    yield fake
    fake.stop()


@pytest.fixture
async def sending(fast_outbox):  # noqa: F811
    set_plugins(Plugins(discover=False, extra=(sms_plugin, email_plugin, dpdp)))
    broker = jobs.setup_jobs("", namespace="seva-test-privacy-codes")
    runner = await asyncio.to_thread(lambda: jobs.Runner(broker, threads=2).start())
    yield
    await asyncio.to_thread(runner.stop)
    set_plugins(None)
    jobs.reset_jobs()


async def settled(tenant_id, template: str, count: int = 1, timeout: float = 15.0) -> list[Message]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await Message.filter(tenant_id=tenant_id, template=template).order_by("created_at")
        if len(rows) >= count:
            return await settle(*[r.id for r in rows])
        assert time.monotonic() < deadline, f"no {template} message"
        await asyncio.sleep(0.05)


async def setup(make_tenant, msg91, smtp):  # noqa: F811
    t = await make_tenant(name="Nair Digital Seva")
    await t.api.ok(CONTACT)
    await update_plugin_settings(t.id, "sms", enabled=True, settings={
        "gateway": "msg91", "apiToken": msg91.authkey, "sender": "SEVAIN", "entityId": "1201159100000000000",
        "webhookToken": secrets.token_urlsafe(24)})
    await use_tenant_server(t, smtp)
    return t


async def test_a_code_sms_cannot_carry_goes_by_email_instead(make_tenant, app, msg91, smtp, sending):  # noqa: F811
    t = await setup(make_tenant, msg91, smtp)
    await create(t.api, name="Lata Nair", phone="9876501001", email="lata@example.com")
    client = Api(app, ip="198.51.100.91").http
    filed = await client.post("/privacy/requests", json={"tenant": to_global_id("Tenant", t.id), "phone": "98765 01001",
                                                         "type": "access"})
    assert filed.status_code == 202
    [sms] = await settled(t.id, "privacy_code")
    assert sms.status.value == "failed" and "template_mismatch" in sms.last_error and msg91.sent == []
    [fallback] = await settled(t.id, "privacy_code_undelivered")
    assert fallback.status.value == "sent" and fallback.channel == "email"
    [mail] = smtp.handler.to("lata@example.com")
    text = parts(mail)["text/plain"]
    assert text.startswith("Nair Digital Seva:") and "could not be sent to your phone" in text
    code = re.search(r"(\d{6})", text).group(1)
    ok = await client.post("/privacy/requests/verify", json={"reference": filed.json()["reference"], "code": code})
    assert ok.status_code == 200
    assert await AuditEvent.filter(tenant_id=t.id, action="privacy_request.code_fallback").count() == 1


async def test_with_no_other_address_the_admins_are_alerted(make_tenant, app, msg91, smtp, sending):  # noqa: F811
    t = await setup(make_tenant, msg91, smtp)
    await create(t.api, name="Phone Only", phone="9876501002")
    client = Api(app, ip="198.51.100.92").http
    filed = await client.post("/privacy/requests", json={"tenant": to_global_id("Tenant", t.id), "phone": "98765 01002",
                                                         "type": "access"})
    assert filed.status_code == 202
    [sms] = await settled(t.id, "privacy_code")
    assert sms.status.value == "failed"
    [alert] = await settled(t.id, "privacy_admin_alert")
    assert alert.user_id is not None and "code_undelivered" in alert.body
    [mail] = smtp.handler.to(t.owner_email)
    assert "privacy_request.code_undelivered" in parts(mail)["text/plain"]
    event = await AuditEvent.get(tenant_id=t.id, action="privacy_request.code_undelivered")
    assert event.details["channel"] == "sms"
