"""A data subject's codes and export links are theirs alone: sealed in the outbox, shown to no
staff role in any answer, delivered under the business's name in the subject's language, and the
link in the email the subject receives is absolute and opens the export."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
import zipfile

import pytest

from seva_crm.core.common.enums import Role
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.settings import get_settings
from seva_crm.core.models import Message
from seva_crm.core.privacy import notify
from seva_crm.core.privacy.disclosures import disclosures_by_provider
from seva_crm.plugins.email.hooks import seva_manifest as email_manifest
from tests.conftest import Api
from tests.test_customers import create
from tests.test_email import parts, use_tenant_server
from tests.jobs_support import fast_outbox, settle  # noqa: F401 - fixtures
from tests.smtp_support import smtp, smtp_certs  # noqa: F401 - fixtures
from tests.test_privacy_requests import APPROVE, FIELDS, REQUEST, approve_for_link, file_with_code, link_path
from tests.jobs_support import inprocess_jobs  # noqa: F401 - a fixture

EMAIL_NAME = email_manifest().name
CONTACT = 'mutation { privacyProfileUpdate(input: {contactName: "Meena (Grievance Officer)", ' \
          'contactEmail: "grievance@centre.example.com"}) { errors { code } } }'


@pytest.fixture
def quiet_jobs(inprocess_jobs, monkeypatch):  # noqa: F811
    """Privacy jobs in-process; messages stay queued (as in tests/test_privacy_requests.py)."""
    from seva_crm.core.messaging import outbox

    monkeypatch.setattr(outbox, "enqueue_send", lambda *args, **kwargs: None)


@pytest.fixture
async def mail_jobs(fast_outbox):  # noqa: F811
    """Jobs in-process with the email plugin, an always-succeeding "sms" channel and the Indian
    privacy policy: the outbox really sends, to the aiosmtpd server."""
    from seva_crm.core import jobs
    from seva_crm.core.platform.plugins import Plugins, set_plugins
    from seva_crm.plugins.dpdp import hooks as dpdp
    from seva_crm.plugins.email import hooks as email_plugin
    from tests.channel_plugin import ChannelPlugin, NullChannel

    set_plugins(Plugins(discover=False, extra=(email_plugin, dpdp, ChannelPlugin([NullChannel("sms")]))))
    broker = jobs.setup_jobs("", namespace="seva-test-privacy-mail")
    runner = await asyncio.to_thread(lambda: jobs.Runner(broker, threads=2).start())
    yield
    await asyncio.to_thread(runner.stop)
    set_plugins(None)
    jobs.reset_jobs()


EVERYTHING = f"""query($id: ID!) {{
  privacyRequest(id: $id) {{ {FIELDS} exportExpiresAt response replyContact }}
  messages(first: 50) {{ edges {{ node {{ id template body status channel lastError }} }} }}
}}"""


async def test_no_staff_role_sees_a_code_or_a_link(tenant, quiet_jobs):
    await tenant.api.ok(CONTACT)
    customer = (await create(tenant.api, name="Secret Keeper", phone="9876500701", email="keeper@example.com"))["customer"]
    request, code = await file_with_code(tenant.api, customer["id"])
    await tenant.api.ok('mutation($id: ID!) { privacyRequestVerify(id: $id, inPersonReason: "voter id seen") '
                        '{ errors { code } } }', id=request["id"])
    _, link = await approve_for_link(tenant.api, request["id"])
    token = link.rsplit("/", 1)[1]
    viewer, agent, key = await tenant.api_as(Role.VIEWER), await tenant.api_as(Role.AGENT), await tenant.api_key(Role.VIEWER)
    for api in (tenant.api, viewer, agent, key):
        answer = await api(EVERYTHING, id=request["id"])
        text = json.dumps(answer)
        assert code.secret not in text and token not in text and "/privacy/exports/" not in text
        bodies = {m["node"]["template"]: m["node"]["body"] for m in answer["data"]["messages"]["edges"]}
        assert bodies["privacy_code"] == "verification code" and bodies["privacy_export_ready"] == "export link"
    # the rows hold them only sealed
    for row in await Message.filter(tenant_id=tenant.id, template__in=["privacy_code", "privacy_export_ready"]):
        assert row.secret in ("code", "link") and code.secret not in row.body and token not in row.body
        assert row.variables == {}


async def _message(tenant_id, template: str, timeout: float = 15.0) -> Message:
    deadline = time.monotonic() + timeout
    while True:
        row = await Message.filter(tenant_id=tenant_id, template=template).order_by("-created_at").first()
        if row is not None:
            return (await settle(row.id))[0]
        assert time.monotonic() < deadline, f"no {template} message"
        await asyncio.sleep(0.05)


async def test_the_link_in_the_delivered_email_opens_the_export(make_tenant, app, mail_jobs, smtp):  # noqa: F811
    tenant = await make_tenant(name="Sharma Seva Kendra")
    await tenant.api.ok(CONTACT)
    await use_tenant_server(tenant, smtp)
    await create(tenant.api, name="Anita Sharma", email="anita@example.com", language="HI")
    client = Api(app, ip="198.51.100.71").http
    filed = await client.post("/privacy/requests", json={"tenant": to_global_id("Tenant", tenant.id),
                                                         "email": "anita@example.com", "type": "access"})
    assert filed.status_code == 202, filed.json()
    sent_code = await _message(tenant.id, "privacy_code")
    assert sent_code.status.value == "sent" and sent_code.body == ""  # emptied once sent
    [mail] = smtp.handler.to("anita@example.com")
    text = parts(mail)["text/plain"]
    assert text.startswith("Sharma Seva Kendra:") and "कोड" in text  # the business's name, in Hindi
    code = re.search(r"(\d{6})", text).group(1)
    verified = await client.post("/privacy/requests/verify", json={"reference": filed.json()["reference"], "code": code})
    assert verified.status_code == 200

    request = (await tenant.api.ok('query { privacyRequests { edges { node { id } } } }'))["privacyRequests"]["edges"][0]
    approved = await tenant.api.ok(APPROVE, id=request["node"]["id"])
    assert approved["privacyRequestApprove"]["errors"] == []
    await _message(tenant.id, "privacy_export_ready")
    link_mail = smtp.handler.to("anita@example.com")[-1]
    body = parts(link_mail)["text/plain"]
    assert body.startswith("Sharma Seva Kendra:") and "डाउनलोड" in body
    url = re.search(r"(https?://\S+)", body).group(1)
    assert url.startswith(get_settings().public_url + "/privacy/exports/")
    download = await client.get(link_path(url))
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert "Anita Sharma" in archive.read("customer.csv").decode()
    done = (await tenant.api.ok(REQUEST, id=request["node"]["id"]))["privacyRequest"]
    assert done["status"] == "COMPLETED" and done["exportReady"]
    # "with whom shared": the code went out through the email provider before the summary was made
    [shared] = done["sharedWith"]
    assert shared["recipient"] == EMAIL_NAME and "email" in shared["what"] and "message" in shared["what"]
    # the ledger, per provider, now also has the link's email and the download
    ledger = {d.provider: d for d in await disclosures_by_provider(tenant.scope, sent_code.created_at)}
    assert ledger["email"].count == 2 and ledger["email"].customers == 1 and "email" in ledger["email"].categories
    assert ledger["export-link"].count == 1


async def test_codes_and_links_are_localised_under_the_business_name(make_tenant, quiet_jobs):
    tenant = await make_tenant(name="Dhaka Net")
    for language, needle in (("BN", "কোড"), ("HI", "कोड"), ("EN", "code")):
        customer = (await create(tenant.api, name=f"Person {language}", phone=f"98765007{len(needle)}{ord(language[0]) % 10}",
                                 language=language))["customer"]
        with notify.listen() as sent:
            await tenant.api.ok('mutation($input: PrivacyRequestCreateInput!) { privacyRequestCreate(input: $input) '
                                '{ errors { code } } }', input={"customerId": customer["id"], "type": "ACCESS",
                                                                "sendCodeVia": "SMS"})
        [intent] = [i for i in sent if i.kind == "subject_code"]
        row = await Message.get(id=intent.message_ids[0])
        from seva_crm.core.messaging.sealed import unseal

        body, variables = unseal(tenant.id, row.id, row.body)
        assert body.startswith("Dhaka Net:") and needle in body and intent.secret in body
        assert variables["code"] == intent.secret and variables["business"] == "Dhaka Net"
