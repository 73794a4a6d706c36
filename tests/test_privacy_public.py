"""The public privacy endpoints answer known and unknown subjects alike, in shape and behind the
same floor of time (measured in bench/privacy_public_timing.py);
filing a request with its code is one transaction (a failed code leaves nothing, a retry files one)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.settings import get_settings
from seva_crm.core.models import AuditEvent, Message, PrivacyRequest
from seva_crm.core.privacy import notify, requests
from tests.conftest import Api
from tests.test_customers import create
from tests.test_privacy_requests import CREATE, privacy_jobs  # noqa: F401 - a fixture
from tests.jobs_support import inprocess_jobs  # noqa: F401 - a fixture

CONTACT = ('mutation { privacyProfileUpdate(input: {contactName: "Grievance Officer", contactPhone: "+919876500000"}) '
           '{ errors { code } } }')
FLOOR = 0.3  # above the known path's work even on a busy machine (the default is 0.25 s)


@pytest.fixture
def roomy(monkeypatch):
    """Limits out of the way, and a short floor for the answers."""
    settings = get_settings()
    for name, value in {"privacy_max_per_ip": 10_000, "privacy_max_per_identifier": 10_000,
                        "privacy_public_min_seconds": FLOOR}.items():
        monkeypatch.setattr(settings, name, value, raising=False)
    return settings


async def test_known_and_unknown_subjects_are_answered_alike_behind_the_same_floor(make_tenant, app, roomy, monkeypatch):
    """The same answer for a known and an unknown subject, each held to the same floor
    (``requests.at_least``) around all of its work, filing and verifying alike; that the floor
    holds is test_the_floor_waits_out_the_rest_whatever_the_work_did. How long the answers take
    on a real machine: bench/privacy_public_timing.py (no timed assertion here)."""
    t = await make_tenant()
    await t.api.ok(CONTACT)
    await create(t.api, name="Timed Person", phone="9876500611")
    client = Api(app, ip="198.51.100.61").http
    floors: list[tuple[float, str, bool]] = []
    at_least = requests.at_least

    async def watched(seconds, work):
        done = []

        async def tracked():
            done.append(await work)
            return done[0]

        try:
            return await at_least(seconds, tracked())
        finally:
            floors.append((seconds, work.cr_code.co_name, bool(done)))

    monkeypatch.setattr(requests, "at_least", watched)
    answers, seen = {}, {}
    for who, phone in (("known", "98765 00611"), ("unknown", "98765 00699")):
        floors.clear()
        response = await client.post("/privacy/requests", json={"tenant": to_global_id("Tenant", t.id), "phone": phone,
                                                                  "type": "access"})
        assert response.status_code == 202
        reference = response.json()["reference"]
        answers[who] = (sorted(response.json()), response.json()["message"], len(reference))
        wrong = await client.post("/privacy/requests/verify", json={"reference": reference, "code": "1"})
        answers[who] += (wrong.status_code, wrong.json())
        seen[who] = list(floors)
    assert answers["known"] == answers["unknown"]
    assert seen["known"] == seen["unknown"] == [(FLOOR, "_file_public", True), (FLOOR, "_verify_public", False)]
    assert await PrivacyRequest.filter(tenant_id=t.id).count() == 1  # the known subject's request was filed


async def test_the_floor_waits_out_the_rest_whatever_the_work_did(monkeypatch):
    """``at_least`` sleeps what is left of the floor after the work, whether it answered quickly
    (a subject nobody knows), slowly, or failed: on a clock the test moves."""
    now, slept = [100.0], []

    async def sleep(seconds):
        slept.append(round(seconds, 6))

    monkeypatch.setattr(requests, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    monkeypatch.setattr(requests, "asyncio", SimpleNamespace(sleep=sleep))

    async def work(takes: float, fails: bool = False) -> str:
        now[0] += takes
        if fails:
            raise DomainError.of("code", ErrorCode.INVALID, "wrong code")
        return "reference"

    assert await requests.at_least(0.3, work(0.12)) == "reference"  # a known subject: a request filed
    assert await requests.at_least(0.3, work(0.02)) == "reference"  # an unknown one: nothing to do
    with pytest.raises(DomainError):
        await requests.at_least(0.3, work(0.05, fails=True))
    assert await requests.at_least(0.3, work(0.4)) == "reference"  # slower than the floor: no wait added
    assert slept == [0.18, 0.28, 0.25, 0.0]


async def test_a_subject_whose_code_cannot_be_queued_is_answered_like_anyone(make_tenant, app, roomy, monkeypatch):
    t = await make_tenant()
    await t.api.ok(CONTACT)
    await create(t.api, name="Unlucky Person", phone="9876500621")

    async def refuse(*args, **kwargs):
        raise DomainError.of("body", ErrorCode.INVALID, "no channel takes this text")

    monkeypatch.setattr(notify, "queue_message", refuse)
    client = Api(app, ip="198.51.100.62").http
    answer = await client.post("/privacy/requests", json={"tenant": to_global_id("Tenant", t.id), "phone": "98765 00621",
                                                         "type": "access"})
    assert answer.status_code == 202
    assert not await PrivacyRequest.exists(tenant_id=t.id)  # nothing half-filed


async def test_filing_with_a_code_is_one_transaction(tenant, monkeypatch):
    customer = (await create(tenant.api, name="Retry Person", phone="9876500631"))["customer"]
    real = notify.queue_message

    async def refuse(*args, **kwargs):
        raise DomainError.of("body", ErrorCode.INVALID, "no channel takes this text")

    monkeypatch.setattr(notify, "queue_message", refuse)
    failed = (await tenant.api.ok(CREATE, input={"customerId": customer["id"], "type": "ACCESS", "sendCodeVia": "SMS"}))
    assert failed["privacyRequestCreate"]["privacyRequest"] is None
    assert failed["privacyRequestCreate"]["errors"][0]["code"] == "INVALID"
    # nothing was left behind: no request (no deadline running), no audit entry, no message
    assert not await PrivacyRequest.exists(tenant_id=tenant.id)
    assert not await AuditEvent.filter(tenant_id=tenant.id, action="privacy_request.received").exists()
    assert not await Message.exists(tenant_id=tenant.id, template="privacy_code")
    # the retry files exactly one request, with its code queued
    monkeypatch.setattr(notify, "queue_message", real)
    retried = (await tenant.api.ok(CREATE, input={"customerId": customer["id"], "type": "ACCESS", "sendCodeVia": "SMS"}))
    assert retried["privacyRequestCreate"]["errors"] == []
    assert await PrivacyRequest.filter(tenant_id=tenant.id).count() == 1
    assert await Message.filter(tenant_id=tenant.id, template="privacy_code").count() == 1
