"""Withdrawing consent through a request leads to erasure, but for what a law keeps: the
existing erasure runs after the consents are withdrawn."""

from __future__ import annotations

from seva_crm.core.common.ids import from_global_id
from seva_crm.core.models import Consent, Customer, Message
from tests.test_consent import grant, publish
from tests.test_customers import create
from tests.test_privacy_requests import VERIFY, approve, file, privacy_jobs  # noqa: F401 - a fixture
from tests.jobs_support import inprocess_jobs  # noqa: F401 - a fixture


async def test_a_consent_withdrawal_request_erases_what_no_law_keeps(tenant):
    await publish(tenant.api)
    customer = (await create(tenant.api, name="Withdrawing Person", phone="9876501401", address="Lane 4"))["customer"]
    cid = from_global_id(customer["id"], "Customer")
    assert (await grant(tenant.api, customer["id"], "marketing"))["errors"] == []
    request = (await file(tenant.api, customer["id"], "CONSENT_WITHDRAWAL"))["privacyRequest"]
    await tenant.api.ok(VERIFY, id=request["id"], reason="signed withdrawal form at the counter")
    done = await approve(tenant.api, request["id"])
    assert done["status"] in ("COMPLETED", "COMPLETED_WITH_RETENTION"), done
    assert done["stepsDone"] == ["note_reply_address", "withdraw_consents", "erase_plugins", "erase_core", "purge_exports"]
    assert await Consent.filter(customer_id=cid, granted=False, source="privacy_request").exists()
    row = await Customer.get(id=cid)
    assert row.erased_at is not None and row.phone is None and row.address == "" and "Withdrawing" not in row.name
    kept = {k["table"] for k in done["kept"]}
    assert "consent" in kept  # the ledger proves the withdrawal (and the consent before it)
    # the outcome is told, at the phone noted before it was erased, sealed with the reply
    [reply] = await Message.filter(customer_id=cid, template="privacy_reply_erased")
    assert reply.secret == "reply" and reply.only_channel == "sms" and "9876501401" not in reply.body
