"""The subject of an erasure is told its outcome (DPDP Rule 9: every reply names the contact),
although the erasure removes the very address the reply goes to."""

from __future__ import annotations

from seva_crm.core.common.ids import from_global_id
from seva_crm.core.models import Customer, Message, PrivacyRequest
from tests.test_customers import create
from tests.test_email import parts, use_tenant_server
from tests.test_privacy_replies import CONTACT
from tests.test_privacy_requests import APPROVE, REQUEST, VERIFY, file_with_code
from tests.test_privacy_secrets import _message, mail_jobs  # noqa: F401 - a fixture
from tests.test_service_records import add
from tests.jobs_support import fast_outbox  # noqa: F401 - a fixture
from tests.smtp_support import smtp, smtp_certs  # noqa: F401 - fixtures


async def test_the_erased_subject_is_told_at_the_address_erased_then_nothing_is_left(make_tenant, app, mail_jobs,  # noqa: F811
                                                                                      smtp):  # noqa: F811
    """The outcome of an erasure reaches the subject although their email is erased by then: it
    travels sealed with the reply, and once sent nothing holds it."""
    tenant = await make_tenant(name="Sharma Seva Kendra", privacy_contact=None)
    await tenant.api.ok(CONTACT)
    await use_tenant_server(tenant, smtp)
    customer = (await create(tenant.api, name="Savitri Menon", email="savitri.menon@example.org", language="HI"))["customer"]
    await add(tenant.api, customer["id"], "PAN card application", feeAmount=10700)  # paid: GST keeps it
    request, code = await file_with_code(tenant.api, customer["id"], "ERASURE", via="EMAIL")
    await tenant.api.ok(VERIFY, id=request["id"], code=code.secret)
    await tenant.api.ok(APPROVE, id=request["id"])
    reply = await _message(tenant.id, "privacy_reply_erased")
    assert reply.status.value == "sent", reply.last_error
    assert reply.body == "" and reply.secret == "reply"  # emptied once sent
    [mail] = [m for m in smtp.handler.to("savitri.menon@example.org") if "मिटा" in parts(m)["text/plain"]]
    text = parts(mail)["text/plain"]
    assert text.startswith("Sharma Seva Kendra:") and "Rekha (Grievance Officer), +919876500999" in text
    assert "CGST Act 2017 s.36" in text  # what the law keeps, and why
    row = await Customer.get(id=from_global_id(customer["id"], "Customer"))
    assert row.erased_at is not None and row.email is None
    done = (await tenant.api.ok(REQUEST, id=request["id"]))["privacyRequest"]
    assert done["status"] == "COMPLETED_WITH_RETENTION"
    # staff see what the message was, never its text; no row keeps the address
    shown = await tenant.api.ok("query { messages(first: 50) { edges { node { template body } } } }")
    [node] = [e["node"] for e in shown["messages"]["edges"] if e["node"]["template"] == "privacy_reply_erased"]
    assert node["body"] == "erasure outcome"
    assert [r for r in await PrivacyRequest.filter(tenant_id=tenant.id).values("result", "details")
            if "savitri" in str(r).lower()] == []
    assert [m for m in await Message.filter(tenant_id=tenant.id).values() if "savitri" in str(m).lower()] == []
