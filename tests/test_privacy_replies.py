"""The subject is told each outcome of their request, through the outbox, in their language,
under the business's name, naming the privacy contact."""

from __future__ import annotations

from seva_crm.core.common.enums import Region
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.models import Message
from tests.test_customers import create
from tests.test_privacy_requests import APPROVE, COMPLETE, REJECT, VERIFY, file, privacy_jobs  # noqa: F401 - a fixture
from tests.jobs_support import inprocess_jobs  # noqa: F401 - a fixture

CONTACT = ('mutation { privacyProfileUpdate(input: {contactName: "Rekha (Grievance Officer)", '
           'contactPhone: "+919876500999"}) { errors { code } } }')


async def replies_to(customer_gid: str) -> list[Message]:
    return await Message.filter(customer_id=from_global_id(customer_gid, "Customer"),
                                template__startswith="privacy_reply").order_by("created_at")


async def decided(api, customer_id, kind, **extra):
    request = (await file(api, customer_id, kind, **extra))["privacyRequest"]
    await api.ok(VERIFY, id=request["id"], reason="known at the counter")
    await api.ok(APPROVE, id=request["id"])
    return request


async def test_a_correction_outcome_in_hindi_names_the_contact(make_tenant):
    t = await make_tenant(name="Verma Jan Seva Kendra", privacy_contact=None)
    await t.api.ok(CONTACT)
    customer = (await create(t.api, name="Ramesh Verma", phone="9876500901", address="Gali 2", language="HI"))["customer"]
    request = await decided(t.api, customer["id"], "CORRECTION", changes={"name": "Ramesh K Verma", "address": "Gali 3"})
    assert await replies_to(customer["id"]) == []  # nothing until decided
    done = await t.api.ok(COMPLETE, id=request["id"], input={"applyFields": ["name"], "refusalReason": "no proof of address"})
    assert done["privacyRequestComplete"]["errors"] == []
    [reply] = await replies_to(customer["id"])
    assert reply.template == "privacy_reply_corrected" and reply.purpose == "service" and reply.secret == ""
    assert reply.body.startswith("Verma Jan Seva Kendra:") and "सुधार" in reply.body
    assert "name" in reply.body and "address" in reply.body and "no proof of address" in reply.body
    assert "Rekha (Grievance Officer), +919876500999" in reply.body


async def test_a_grievance_answer_in_bengali_and_a_rejection(make_tenant):
    bd = await make_tenant(Region.BD, name="Rahman Telecom", privacy_contact=None)
    await bd.api.ok(CONTACT)
    customer = (await create(bd.api, name="Karim", phone="01712-345901", language="BN"))["customer"]
    grievance = await decided(bd.api, customer["id"], "GRIEVANCE", details="calls at night")
    await bd.api.ok(COMPLETE, id=grievance["id"], input={"response": "We stopped calls after 8 pm."})
    [answer] = await replies_to(customer["id"])
    assert answer.template == "privacy_reply_answered" and answer.body.startswith("Rahman Telecom:")
    assert "উত্তর" in answer.body and "We stopped calls after 8 pm." in answer.body and "Rekha" in answer.body
    other = (await create(bd.api, name="Salma", phone="01712-345902"))["customer"]
    request = (await file(bd.api, other["id"], "ACCESS"))["privacyRequest"]
    rejected = await bd.api.ok(REJECT, id=request["id"], reason="we hold no account under this number")
    assert rejected["privacyRequestReject"]["errors"] == []
    [reply] = await replies_to(other["id"])
    assert reply.template == "privacy_reply_rejected" and "we hold no account under this number" in reply.body
    assert reply.body.startswith("Rahman Telecom: we could not act") and "Rekha (Grievance Officer)" in reply.body


async def test_without_a_named_contact_the_reply_names_the_business(make_tenant):
    t = await make_tenant(name="Corner Shop")
    customer = (await create(t.api, name="No Contact", phone="9876500911"))["customer"]
    request = (await file(t.api, customer["id"], "ACCESS"))["privacyRequest"]
    # the business stops naming one after the request was taken (no new request is taken then)
    cleared = await t.api.ok('mutation { privacyProfileUpdate(input: {contactName: "", contactEmail: ""}) { errors { code } } }')
    assert cleared["privacyProfileUpdate"]["errors"] == []
    await t.api.ok(REJECT, id=request["id"], reason="duplicate of an earlier request")
    [reply] = await replies_to(customer["id"])
    assert reply.body.endswith("Questions or complaints: Corner Shop.")

