"""The public privacy endpoints, as a data subject uses them: the tenant's page under its slug,
every request type the region allows (a correction with its new values), confirming, asking for
a new code, looking up the status; known and unknown subjects get the same status and body
(but the reference) on every endpoint."""

from __future__ import annotations

import pytest

from seva_crm.core.common.enums import Region
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.settings import get_settings
from seva_crm.core.models import PrivacyRequest
from seva_crm.core.privacy import notify
from tests.conftest import Api
from tests.test_customers import create
from tests.test_privacy_public import CONTACT
from tests.test_privacy_requests import APPROVE, COMPLETE, privacy_jobs  # noqa: F401 - a fixture
from tests.jobs_support import inprocess_jobs  # noqa: F401 - a fixture


@pytest.fixture(autouse=True)
def fast_public(monkeypatch):
    settings = get_settings()
    for name, value in {"privacy_max_per_ip": 10_000, "privacy_max_per_identifier": 10_000,
                        "privacy_public_min_seconds": 0.0}.items():
        monkeypatch.setattr(settings, name, value, raising=False)


def same(a, b, drop=("reference",)):
    """Both answers alike: status code and body, but the opaque reference."""
    def view(r):
        return r.status_code, {k: v for k, v in r.json().items() if k not in drop}
    assert view(a) == view(b), (view(a), view(b))


async def test_the_page_says_how_to_ask_and_requests_need_a_contact(make_tenant, app):
    t = await make_tenant(name="Gupta Cyber Café", privacy_contact=None)
    client = Api(app, ip="198.51.100.81").http
    await create(t.api, name="Known One", phone="9876500801")
    refused = await client.post("/privacy/requests", json={"tenant": to_global_id("Tenant", t.id), "phone": "98765 00801",
                                                          "type": "access"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "UNAVAILABLE"
    assert not await PrivacyRequest.exists(tenant_id=t.id)
    await t.api.ok(CONTACT)
    url = (await t.api.ok("{ privacyProfile { publicPageUrl } }"))["privacyProfile"]["publicPageUrl"]
    assert url.startswith(get_settings().public_url + "/privacy/t/gupta-cyber-caf")
    path = url.removeprefix(get_settings().public_url)
    page = await client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Gupta Cyber Café" in page.text and "Grievance Officer" in page.text and "mobile number or email" in page.text
    assert "<script" not in page.text and "http" not in page.text.split("<body")[0].replace("http-equiv", "")
    assert "correction" in page.text and "grievance" in page.text
    info = (await client.get(path, headers={"accept": "application/json"})).json()
    slug = info["slug"]
    # filing under the slug works like under the opaque id
    with notify.listen() as sent:
        by_slug = await client.post(f"/privacy/t/{slug}/requests", json={"phone": "98765 00801", "type": "access"})
    assert by_slug.status_code == 202 and [i.kind for i in sent] == ["subject_code"]
    assert (await client.get("/privacy/t/no-such-centre")).status_code == 404


async def test_a_contact_with_no_way_to_reach_it_is_not_shown_as_taking_requests(make_tenant, app):
    """The page says requests are taken only when they are: a name alone reaches no one."""
    t = await make_tenant(name="Name Only Centre", privacy_contact={"name": "Grievance Officer"})
    client = Api(app, ip="198.51.100.83").http
    info = (await client.get(f"/privacy/t/{to_global_id('Tenant', t.id)}", headers={"accept": "application/json"})).json()
    assert info["accepting"] is False and info["contact"] == ""
    page = await client.get(f"/privacy/t/{info['slug']}")
    assert "has not named its privacy contact yet" in page.text
    refused = await client.post(f"/privacy/t/{info['slug']}/requests", json={"phone": "98765 00812", "type": "access"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "UNAVAILABLE"


async def test_a_correction_with_its_values_then_status_and_resend(make_tenant, app):
    t = await make_tenant()
    await t.api.ok(CONTACT)
    customer = (await create(t.api, name="Suresh Babu", phone="9876500811", address="Old Street 1"))["customer"]
    client = Api(app, ip="198.51.100.82").http
    public = to_global_id("Tenant", t.id)
    body = {"tenant": public, "type": "correction", "changes": {"address": "New Street 9"}}
    bad = {"tenant": public, "type": "correction", "changes": {"email": "not an email"}}
    same(await client.post("/privacy/requests", json={**bad, "phone": "98765 00811"}),
         await client.post("/privacy/requests", json={**bad, "phone": "98765 00899"}))
    assert not await PrivacyRequest.exists(tenant_id=t.id)
    with notify.listen() as sent:
        known = await client.post("/privacy/requests", json={**body, "phone": "98765 00811"})
        unknown = await client.post("/privacy/requests", json={**body, "phone": "98765 00899"})
    same(known, unknown)
    assert known.status_code == 202
    [code] = [i.secret for i in sent]
    ref, nobody = known.json()["reference"], unknown.json()["reference"]
    # a wrong code, and the right code for a reference to nobody: one answer
    same(await client.post("/privacy/requests/verify", json={"reference": ref, "code": "x"}),
         await client.post("/privacy/requests/verify", json={"reference": nobody, "code": code}))
    assert (await client.post("/privacy/requests/verify", json={"reference": ref, "code": code})).status_code == 200
    # status with the code; then staff apply the correction and the status shows it
    status = await client.post("/privacy/requests/status", json={"reference": ref, "code": code})
    assert status.status_code == 200 and status.json()["status"] == "identity_verified"
    assert status.json()["type"] == "correction"
    same(await client.post("/privacy/requests/status", json={"reference": nobody, "code": code}),
         await client.post("/privacy/requests/status", json={"reference": ref, "code": "x"}))
    request = (await t.api.ok('query { privacyRequests { edges { node { id requestedFields } } } }'))["privacyRequests"]
    node = request["edges"][0]["node"]
    assert node["requestedFields"] == ["address"]
    await t.api.ok(APPROVE, id=node["id"])
    await t.api.ok(COMPLETE, id=node["id"], input={"applyFields": ["address"]})
    after = await t.api.ok('query($id: ID!) { customer(id: $id) { address } }', id=customer["id"])
    assert after["customer"]["address"] == "New Street 9"
    # three wrong codes use it up; a new code (resend) works, for a reference to nobody the answer is the same
    for _ in range(3):
        await client.post("/privacy/requests/status", json={"reference": ref, "code": "000000" if code != "000000" else "1"})
    assert (await client.post("/privacy/requests/status", json={"reference": ref, "code": code})).status_code == 400
    with notify.listen() as resent:
        again = await client.post("/privacy/requests/resend", json={"reference": ref})
        other = await client.post("/privacy/requests/resend", json={"reference": nobody})
    same(again, other)
    assert again.status_code == 202 and len(resent) == 1
    done = await client.post("/privacy/requests/status", json={"reference": ref, "code": resent[0].secret})
    assert done.status_code == 200 and done.json()["status"] == "completed" and done.json()["applied"] == ["address"]


async def test_resending_is_limited_per_reference(make_tenant, app, monkeypatch):
    t = await make_tenant()
    await t.api.ok(CONTACT)
    await create(t.api, name="Limit Me", phone="9876500821")
    monkeypatch.setattr(get_settings(), "privacy_max_per_identifier", 2)
    client = Api(app, ip="198.51.100.83").http
    filed = await client.post("/privacy/requests", json={"tenant": to_global_id("Tenant", t.id), "phone": "98765 00821",
                                                         "type": "access"})
    codes = [(await client.post("/privacy/requests/resend", json={"reference": filed.json()["reference"]})).status_code
             for _ in range(3)]
    assert codes == [202, 202, 429]


async def test_every_type_the_region_allows_is_offered(make_tenant, app):
    bd = await make_tenant(Region.BD, name="Rahman Telecom")
    await bd.api.ok(CONTACT)
    await create(bd.api, name="Karim", phone="01712-345600")
    client = Api(app, ip="198.51.100.84").http
    info = (await client.get(f"/privacy/t/{to_global_id('Tenant', bd.id)}", headers={"accept": "application/json"})).json()
    offered = {t["type"] for t in info["request_types"]}
    assert {"access", "correction", "erasure", "grievance"} <= offered
    for kind in sorted(offered - {"correction"}):
        known = await client.post("/privacy/requests", json={"tenant": info["slug"], "phone": "01712-345600", "type": kind})
        unknown = await client.post("/privacy/requests", json={"tenant": info["slug"], "phone": "01712-345699", "type": kind})
        same(known, unknown)
        assert known.status_code == 202, (kind, known.json())
