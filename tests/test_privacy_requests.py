"""Data-subject requests: lifecycle, identity codes, deadlines, escalation, resumable steps,
correction, exports behind signed links, the public endpoint."""

import io
import zipfile
from pathlib import Path
from datetime import timedelta

import pytest

from seva_crm.core.platform import audit
from seva_crm.core import jobs
from seva_crm.core.common.enums import Region, RequestType, Role
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.models import AuditEvent, Message, PrivacyRequest
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.core.platform.hookspecs import hookimpl
from seva_crm.core.platform.plugin_types import PluginManifest
from seva_crm.core.privacy import notify, runner
from seva_crm.core.privacy.export import expire_exports
from seva_crm.core.privacy.requests import create_request, escalate_overdue
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import get_settings
from tests.conftest import Api
from tests.jobs_support import drain, inprocess_jobs  # noqa: F401 - a fixture
from tests.test_customers import create

FIELDS = """id type status daysLeft dueAt dueCitation overdue currentStep stepsDone failure verificationMethod
  exportReady rejectionReason kept { table count basis citation retainUntil } sharedWith { recipient what }
  appliedFields refusedFields requestedFields"""
CREATE = f"""mutation($input: PrivacyRequestCreateInput!) {{
  privacyRequestCreate(input: $input) {{ privacyRequest {{ {FIELDS} }} errors {{ field code message }} }}
}}"""
VERIFY = f"""mutation($id: ID!, $code: String, $reason: String) {{
  privacyRequestVerify(id: $id, code: $code, inPersonReason: $reason) {{ privacyRequest {{ {FIELDS} }} errors {{ field code message }} }}
}}"""
APPROVE = f"""mutation($id: ID!) {{ privacyRequestApprove(id: $id) {{ privacyRequest {{ {FIELDS} }} errors {{ field code message }} }} }}"""
REJECT = f"""mutation($id: ID!, $reason: String!) {{
  privacyRequestReject(id: $id, reason: $reason) {{ privacyRequest {{ {FIELDS} }} errors {{ field code message }} }} }}"""
COMPLETE = f"""mutation($id: ID!, $input: PrivacyRequestCompleteInput!) {{
  privacyRequestComplete(id: $id, input: $input) {{ privacyRequest {{ {FIELDS} }} errors {{ field code message }} }}
}}"""
REQUEST = f"""query($id: ID!) {{ privacyRequest(id: $id) {{ {FIELDS} }} }}"""
QUEUE = """query($filter: PrivacyRequestFilter) {
  privacyRequests(filter: $filter) { totalCount edges { node { id overdue daysLeft status } } } }"""


@pytest.fixture(autouse=True)
def privacy_jobs(inprocess_jobs, monkeypatch):
    """Approved requests run as the privacy.run_request job, on the in-process runner. The
    messages queued on the way (codes, links, alerts) stay queued for the tests to read: sending
    them is the outbox's business (tests/test_outbox.py), and on SQLite a second writer only adds
    lock contention."""
    from seva_crm.core.messaging import outbox

    monkeypatch.setattr(outbox, "enqueue_send", lambda *args, **kwargs: None)
    return inprocess_jobs


async def approve(api, request_id) -> dict:
    """Approve, wait for the job that does the work, and return the request as it then is."""
    body = (await api.ok(APPROVE, id=request_id))["privacyRequestApprove"]
    assert body["errors"] == [] and body["privacyRequest"]["status"] == "IN_PROGRESS", body
    await drain(jobs.get_broker())
    return (await api.ok(REQUEST, id=request_id))["privacyRequest"]


async def approve_for_link(api, request_id) -> tuple[dict, str]:
    """Approve an access request; return it done and the download link the subject was sent
    (read from the listener: the message itself holds it sealed)."""
    with notify.listen() as sent:
        done = await approve(api, request_id)
    links = [i.secret for i in sent if i.kind == "subject_link"]
    assert len(links) == 1, sent
    return done, links[0]


def link_path(url: str) -> str:
    """The absolute link's path, for the in-process client."""
    assert url.startswith(get_settings().public_url + "/privacy/exports/"), url
    return url.removeprefix(get_settings().public_url)


async def latest_message(customer_gid, template="privacy_code") -> Message:
    """The newest outbox message of ``template`` queued for the customer (codes are read from here)."""
    return await Message.filter(customer_id=from_global_id(customer_gid, "Customer"), template=template).order_by("-created_at").first()


async def file(api, customer_id, kind="ACCESS", **extra):
    data = await api.ok(CREATE, input={"customerId": customer_id, "type": kind, **extra})
    return data["privacyRequestCreate"]


async def file_with_code(api, customer_id, kind="ACCESS", via="SMS", **extra):
    with notify.listen() as sent:
        result = await file(api, customer_id, kind, sendCodeVia=via, **extra)
    assert result["errors"] == [], result
    codes = [i for i in sent if i.kind == "subject_code"]
    message = await latest_message(customer_id)
    assert message.id == codes[-1].message_ids[0] and message.only_channel == via.lower() and message.purpose == "service"
    assert message.secret == "code" and message.variables == {} and codes[-1].secret not in message.body  # sealed
    return result["privacyRequest"], codes[-1]


async def test_staff_filed_access_request_end_to_end(tenant, app, caplog):
    customer = (await create(tenant.api, name="Lakshmi Rao", phone="9876500201", email="lakshmi@example.com"))["customer"]
    request, intent = await file_with_code(tenant.api, customer["id"])
    assert request["status"] == "RECEIVED" and request["daysLeft"] == 30
    assert "Rule 14(3)" in request["dueCitation"]
    assert intent.address == "+919876500201" and len(intent.secret) == 6
    assert "9876500201" not in caplog.text and intent.secret not in caplog.text

    early = (await tenant.api.ok(APPROVE, id=request["id"]))["privacyRequestApprove"]
    assert early["errors"][0]["code"] == "INVALID_TRANSITION"
    wrong = (await tenant.api.ok(VERIFY, id=request["id"], code="000000" if intent.secret != "000000" else "111111"))
    assert wrong["privacyRequestVerify"]["errors"][0]["code"] == "INVALID"
    verified = (await tenant.api.ok(VERIFY, id=request["id"], code=intent.secret))["privacyRequestVerify"]["privacyRequest"]
    assert verified["status"] == "IDENTITY_VERIFIED" and verified["verificationMethod"] == "otp"

    done, url = await approve_for_link(tenant.api, request["id"])
    assert done["status"] == "COMPLETED" and done["stepsDone"] == ["collect", "package", "deliver"] and done["exportReady"]
    url = link_path(url)
    client = Api(app).http
    download = await client.get(url)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert {"summary.json", "data.json", "customer.csv"} <= set(archive.namelist())
    assert "Lakshmi Rao" in archive.read("customer.csv").decode()
    rid = from_global_id(request["id"], "PrivacyRequest")
    actions = [e.action for e in await audit.events_for(tenant.id, "privacy_request", rid)]
    assert actions[:1] == ["privacy_request.received"] and "privacy_request.identity_verified" in actions
    assert "privacy_request.in_progress" in actions and "privacy_request.completed" in actions
    assert actions[-1] == "privacy_request.export_downloaded"

    token = url.removeprefix("/privacy/exports/")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await client.get("/privacy/exports/" + forged)).status_code == 404
    await PrivacyRequest.filter(id=rid).update(export_expires_at=utcnow() - timedelta(seconds=1))
    assert (await client.get(url)).status_code == 404
    path = (await PrivacyRequest.get(id=rid)).export_path
    assert await expire_exports(utcnow()) >= 1
    assert not Path(path).exists() and (await PrivacyRequest.get(id=rid)).export_path == ""


async def test_no_request_is_taken_before_the_tenant_names_its_privacy_contact(make_tenant):
    """Every reply names the contact (DPDP Rule 9): staff cannot file a request either (a typed
    error saying where to set it) until the tenant named one; the system's own sweeps can."""
    t = await make_tenant(privacy_contact=None)
    customer = (await create(t.api, name="Walk In Early", phone="9876500209"))["customer"]
    refused = await file(t.api, customer["id"], "ACCESS", sendCodeVia="SMS")
    assert refused["privacyRequest"] is None
    [error] = refused["errors"]
    assert (error["field"], error["code"]) == ("contactName", "CONTACT_REQUIRED") and "privacyProfileUpdate" in error["message"]
    with pytest.raises(DomainError) as caught:  # the service itself, whoever calls it
        await create_request(t.scope, from_global_id(customer["id"], "Customer"), RequestType.ERASURE, filed_via="import")
    assert caught.value.errors[0].code is ErrorCode.CONTACT_REQUIRED
    assert not await PrivacyRequest.exists(tenant_id=t.id) and not await Message.exists(tenant_id=t.id, template="privacy_code")
    # a sweep of the system's (inactivity, purpose served) is no one's request: it goes ahead
    swept = await create_request(t.scope, from_global_id(customer["id"], "Customer"), RequestType.ERASURE,
                                 filed_via="inactivity")
    assert swept.status == "received"

    name_only = await t.api.ok('mutation { privacyProfileUpdate(input: {contactName: "Grievance Officer"}) { errors { code } } }')
    assert name_only["privacyProfileUpdate"]["errors"] == []
    assert (await file(t.api, customer["id"]))["errors"][0]["code"] == "CONTACT_REQUIRED"  # a name alone reaches no one
    await t.api.ok('mutation { privacyProfileUpdate(input: {contactEmail: "dpo@example.com"}) { errors { code } } }')
    filed = await file(t.api, customer["id"], "ACCESS")
    assert filed["errors"] == [] and filed["privacyRequest"]["status"] == "RECEIVED"


async def test_the_demo_tenant_names_its_privacy_contact():
    from seva_crm.core.privacy.public import named_contact
    from seva_crm.demo import load_demo

    demo, _ = await load_demo()
    assert (await named_contact(demo.id))["name"].startswith("Demo Owner")


async def test_codes_expire_and_allow_three_attempts(tenant):
    customer = (await create(tenant.api, name="Code Person", phone="9876500202"))["customer"]
    request, intent = await file_with_code(tenant.api, customer["id"])
    for _ in range(3):
        await tenant.api.ok(VERIFY, id=request["id"], code="bad")
    locked = (await tenant.api.ok(VERIFY, id=request["id"], code=intent.secret))["privacyRequestVerify"]
    assert locked["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"
    with notify.listen() as sent:
        await tenant.api.ok('mutation($id: ID!) { privacyRequestSendCode(id: $id, channel: "sms") { errors { code } } }', id=request["id"])
    rid = from_global_id(request["id"], "PrivacyRequest")
    await PrivacyRequest.filter(id=rid).update(code_expires_at=utcnow() - timedelta(seconds=1))
    expired = (await tenant.api.ok(VERIFY, id=request["id"], code=sent[-1].secret))["privacyRequestVerify"]
    assert expired["errors"][0]["code"] == "EXPIRED"
    row = await PrivacyRequest.get(id=rid)
    assert row.code_hash != sent[-1].secret and len(row.code_hash) == 64  # only a keyed digest is stored


async def test_in_person_verification_needs_a_reason_and_email_codes(tenant):
    customer = (await create(tenant.api, name="Walk In", email="walkin@example.com"))["customer"]
    no_phone = await file(tenant.api, customer["id"], sendCodeVia="SMS")
    assert no_phone["errors"][0]["field"] == "channel"
    request, intent = await file_with_code(tenant.api, customer["id"], via="EMAIL")
    assert intent.channel == "email" and intent.address == "walkin@example.com"
    blank = (await tenant.api.ok(VERIFY, id=request["id"], reason="  "))["privacyRequestVerify"]
    assert blank["errors"][0]["field"] == "reason"
    ok = (await tenant.api.ok(VERIFY, id=request["id"], reason="checked Aadhaar card (masked) at the counter"))
    assert ok["privacyRequestVerify"]["privacyRequest"]["verificationMethod"] == "in_person"


async def test_types_follow_the_region_and_rejection_needs_a_reason(make_tenant):
    bd = await make_tenant(Region.BD)
    customer = (await create(bd.api, name="Rahim", phone="01712-345678"))["customer"]
    nomination = await file(bd.api, customer["id"], "NOMINATION")
    assert nomination["errors"][0]["field"] == "type"
    request = (await file(bd.api, customer["id"], "PORTABILITY"))["privacyRequest"]
    assert "PDPO" in request["dueCitation"] and request["daysLeft"] == 30
    blank = (await bd.api.ok(REJECT, id=request["id"], reason=" "))["privacyRequestReject"]
    assert blank["errors"][0]["field"] == "reason"
    rejected = (await bd.api.ok(REJECT, id=request["id"], reason="could not confirm identity"))["privacyRequestReject"]
    assert rejected["privacyRequest"]["status"] == "REJECTED"
    assert (await bd.api.ok(REJECT, id=request["id"], reason="again"))["privacyRequestReject"]["errors"][0]["code"] == "INVALID_TRANSITION"


async def test_agents_file_but_only_admins_decide(tenant):
    agent = await tenant.api_as(Role.AGENT)
    customer = (await create(agent, name="Perm Test"))["customer"]
    request = (await file(agent, customer["id"]))["privacyRequest"]
    body = await agent(APPROVE, id=request["id"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_overdue_requests_escalate_once_and_lead_the_queue(tenant, domain_events):
    customer = (await create(tenant.api, name="Late One"))["customer"]
    cid = from_global_id(customer["id"], "Customer")
    fresh = (await file(tenant.api, customer["id"]))["privacyRequest"]
    old = await create_request(tenant.scope, cid, RequestType.ACCESS, now=utcnow() - timedelta(days=31))
    queue = (await tenant.api.ok(QUEUE))["privacyRequests"]["edges"]
    assert [e["node"]["id"] for e in queue] == [to_global_id("PrivacyRequest", old.id), fresh["id"]]
    assert queue[0]["node"]["overdue"] and queue[0]["node"]["daysLeft"] == -1
    overdue = (await tenant.api.ok(QUEUE, filter={"overdue": True}))["privacyRequests"]
    assert overdue["totalCount"] == 1
    with notify.listen() as sent:
        escalated = await escalate_overdue(utcnow())
        assert old.id in [r.id for r in escalated] and fresh["id"] not in [to_global_id("PrivacyRequest", r.id) for r in escalated]
        assert old.id not in [r.id for r in await escalate_overdue(utcnow())]  # once
    alert = next(i for i in sent if i.request_id is None and i.data.get("request") == str(old.id))
    assert alert.data["kind"] == "privacy_request.overdue" and alert.recipients and "Rule 14(3)" in alert.data["citation"]
    assert (await PrivacyRequest.get(id=old.id)).escalated_at is not None
    # each active admin or owner has one queued email (a service message to staff, no customer)
    alerts = await Message.filter(id__in=alert.message_ids)
    assert len(alerts) == len(alert.recipients) >= 1
    assert {str(m.user_id) for m in alerts} == set(alert.recipients)
    assert all(m.customer_id is None and m.only_channel == "email" and m.template == "privacy_overdue" and
               m.purpose == "service" and "Rule 14(3)" in m.body and "Late One" not in m.body for m in alerts)
    assert [e.name for e in domain_events if e.subject_id == old.id] == ["privacy_request.received", "privacy_request.escalated"]
    assert set(domain_events[-1].data) == {"kind", "status", "due_at"}  # ids and states only


async def test_request_transitions_emit_domain_events_after_commit(tenant, domain_events):
    customer = (await create(tenant.api, name="Evented Person"))["customer"]
    request = (await file(tenant.api, customer["id"]))["privacyRequest"]
    await tenant.api.ok(VERIFY, id=request["id"], reason="known to staff")
    done = await approve(tenant.api, request["id"])
    rid = from_global_id(request["id"], "PrivacyRequest")
    mine = [e for e in domain_events if e.subject_id == rid]
    assert [e.name for e in mine] == ["privacy_request.received", "privacy_request.identity_verified",
                                      "privacy_request.in_progress", f"privacy_request.{done['status'].lower()}"]
    assert mine[-1].data == {"kind": "access", "status": done["status"].lower(), "previous": "in_progress"}
    assert all(e.tenant_id == tenant.id for e in mine)


async def test_a_failed_request_resumes_from_the_failed_step(tenant, monkeypatch):
    customer = (await create(tenant.api, name="Resume Me"))["customer"]
    request = (await file(tenant.api, customer["id"]))["privacyRequest"]
    await tenant.api.ok(VERIFY, id=request["id"], reason="known to staff")
    calls = {"collect": 0, "package": 0}
    real_collect, real_package = runner.collect, runner.package

    async def counting_collect(r, t):
        calls["collect"] += 1
        await real_collect(r, t)

    async def flaky_package(r, t):
        calls["package"] += 1
        if calls["package"] == 1:
            raise OSError("disk full")
        await real_package(r, t)

    steps = dict(runner.STEPS)
    steps[RequestType.ACCESS] = [("collect", counting_collect), ("package", flaky_package), ("deliver", runner.deliver)]
    monkeypatch.setattr(runner, "STEPS", steps)
    failed = await approve(tenant.api, request["id"])
    assert failed["status"] == "FAILED" and failed["currentStep"] == "package" and failed["stepsDone"] == ["collect"]
    assert failed["failure"] == "package: OSError"
    resumed = await approve(tenant.api, request["id"])
    assert resumed["status"] == "COMPLETED" and resumed["stepsDone"] == ["collect", "package", "deliver"]
    assert calls == {"collect": 1, "package": 2}


async def test_correction_applied_refused_and_disputed_in_bangladesh(make_tenant):
    bd = await make_tenant(Region.BD)
    customer = (await create(bd.api, name="Karim Uddin", phone="01812-345678", address="Old Road"))["customer"]
    request = (await file(bd.api, customer["id"], "CORRECTION",
                          changes={"name": "Karim Uddin Ahmed", "address": "New Road 5"}))["privacyRequest"]
    assert request["requestedFields"] == ["address", "name"]
    await bd.api.ok(VERIFY, id=request["id"], reason="national id seen")
    await bd.api.ok(APPROVE, id=request["id"])
    no_reason = (await bd.api.ok(COMPLETE, id=request["id"], input={"applyFields": ["name"]}))["privacyRequestComplete"]
    assert no_reason["errors"][0]["field"] == "refusalReason"
    done = (await bd.api.ok(COMPLETE, id=request["id"], input={"applyFields": ["name"], "refusalReason": "no proof of address",
                                                                 "markDisputed": True}))["privacyRequestComplete"]
    assert done["errors"] == [] and done["privacyRequest"]["appliedFields"] == ["name"]
    assert done["privacyRequest"]["refusedFields"] == ["address"]
    after = await bd.api.ok('query($id: ID!) { customer(id: $id) { name address disputedFields } }', id=customer["id"])
    assert after["customer"] == {"name": "Karim Uddin Ahmed", "address": "Old Road", "disputedFields": ["address"]}
    change = await AuditEvent.filter(tenant_id=bd.id, action="customer.updated").order_by("-seq").first()
    assert change.changed == ["name"] and change.details["after"]["name"].startswith("h:")
    assert "Karim" not in str(change.details)
    row = await PrivacyRequest.get(id=from_global_id(request["id"], "PrivacyRequest"))
    assert row.changes == {}  # the requested values are not kept once decided


async def test_india_has_no_disputed_mark_but_grievance_and_nomination(tenant):
    customer = (await create(tenant.api, name="Gita"))["customer"]
    correction = (await file(tenant.api, customer["id"], "CORRECTION", changes={"address": "Somewhere"}))["privacyRequest"]
    await tenant.api.ok(VERIFY, id=correction["id"], reason="known")
    await tenant.api.ok(APPROVE, id=correction["id"])
    refused = (await tenant.api.ok(COMPLETE, id=correction["id"], input={"refusalReason": "no", "markDisputed": True}))
    assert refused["privacyRequestComplete"]["errors"][0]["field"] == "markDisputed"
    await tenant.api.ok('mutation { privacyProfileUpdate(input: {contactName: "Ravi (Grievance Officer)", '
                        'contactEmail: "grievance@centre.example.com"}) { errors { code } } }')
    grievance = (await file(tenant.api, customer["id"], "GRIEVANCE", details="messages at night"))["privacyRequest"]
    await tenant.api.ok(VERIFY, id=grievance["id"], reason="known")
    await tenant.api.ok(APPROVE, id=grievance["id"])
    answered = (await tenant.api.ok(COMPLETE, id=grievance["id"], input={"response": "We stopped evening messages."}))
    assert answered["privacyRequestComplete"]["privacyRequest"]["status"] == "COMPLETED"
    contact = await tenant.api.ok('query($id: ID!) { privacyRequest(id: $id) { replyContact } }', id=grievance["id"])
    assert contact["privacyRequest"]["replyContact"] == "Ravi (Grievance Officer), grievance@centre.example.com"
    nomination = (await file(tenant.api, customer["id"], "NOMINATION"))["privacyRequest"]
    await tenant.api.ok(VERIFY, id=nomination["id"], reason="known")
    await tenant.api.ok(APPROVE, id=nomination["id"])
    named = (await tenant.api.ok(COMPLETE, id=nomination["id"],
                                 input={"nominee": {"name": "Son", "relation": "son", "contact": "+91 98765 00000"}}))
    assert named["privacyRequestComplete"]["errors"] == []


async def test_public_endpoint_answers_alike_and_is_rate_limited(make_tenant, app):
    t = await make_tenant(Region.IN)
    await t.api.ok('mutation { privacyProfileUpdate(input: {contactName: "Officer", contactEmail: "dpo@centre.example.com"}) '
                   '{ errors { code } } }')
    await create(t.api, name="Public Person", phone="9876500301")
    public = to_global_id("Tenant", t.id)
    client = Api(app, ip="198.51.100.7").http
    with notify.listen() as sent:
        known = await client.post("/privacy/requests", json={"tenant": public, "phone": "98765 00301", "type": "access"})
        unknown = await client.post("/privacy/requests", json={"tenant": public, "phone": "98765 00399", "type": "access"})
    assert known.status_code == unknown.status_code == 202
    assert known.json()["message"] == unknown.json()["message"] and known.json().keys() == unknown.json().keys()
    assert len(sent) == 1 and sent[0].address == "+919876500301"
    bad = await client.post("/privacy/requests/verify", json={"reference": unknown.json()["reference"], "code": sent[0].secret})
    wrong = await client.post("/privacy/requests/verify", json={"reference": known.json()["reference"], "code": "x"})
    assert bad.status_code == wrong.status_code == 400 and bad.json() == wrong.json()
    ok = await client.post("/privacy/requests/verify", json={"reference": known.json()["reference"], "code": sent[0].secret})
    assert ok.status_code == 200
    queue = (await t.api.ok(QUEUE, filter={"status": ["IDENTITY_VERIFIED"]}))["privacyRequests"]
    assert queue["totalCount"] == 1

    for _ in range(3):  # the identifier's second to fourth filing: the limit is 3 a window
        last = await client.post("/privacy/requests", json={"tenant": public, "phone": "98765 00301", "type": "access"})
    assert last.status_code == 429
    flood = Api(app, ip="198.51.100.8").http
    codes = [(await flood.post("/privacy/requests", json={"tenant": public, "email": f"p{i}@example.com", "type": "access"})).status_code
             for i in range(11)]
    assert codes[:10] == [202] * 10 and codes[10] == 429


class FakeCrm:
    """A plugin that keeps its own copy of customers' data."""

    erased: list = []

    @staticmethod
    @hookimpl
    def seva_manifest():
        return PluginManifest(id="fakecrm", name="Fake CRM sync", version="1", enabled_by_default=True)

    @staticmethod
    @hookimpl
    def seva_privacy_fanout():
        class Adapter:
            async def export(self, tenant_id, customer_id):
                return {"synced_contact": {"customer": str(customer_id), "list": "newsletter"}}

            async def erase(self, tenant_id, customer_id):
                FakeCrm.erased.append(customer_id)
                return {"erased": 1}

        return Adapter()


@pytest.fixture
def fake_plugin():
    set_plugins(Plugins(extra=(FakeCrm,)))
    yield FakeCrm
    set_plugins(None)


async def test_exports_and_erasure_reach_plugins(tenant, fake_plugin):
    customer = (await create(tenant.api, name="Synced Person", phone="9876500401"))["customer"]
    request = (await file(tenant.api, customer["id"]))["privacyRequest"]
    await tenant.api.ok(VERIFY, id=request["id"], reason="known")
    done, _ = await approve_for_link(tenant.api, request["id"])
    assert {"recipient": "Fake CRM sync", "what": "data the plugin stores itself"} in done["sharedWith"]
    erase = (await file(tenant.api, customer["id"], "ERASURE"))["privacyRequest"]
    await tenant.api.ok(VERIFY, id=erase["id"], reason="known")
    erased = await approve(tenant.api, erase["id"])
    assert erased["status"] in ("COMPLETED", "COMPLETED_WITH_RETENTION")
    assert from_global_id(customer["id"], "Customer") in fake_plugin.erased
    assert done["exportReady"] and (await PrivacyRequest.get(id=from_global_id(request["id"], "PrivacyRequest"))).export_path == ""
