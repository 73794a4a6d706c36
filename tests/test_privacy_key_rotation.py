"""`seva secrets rotate` covers personal data too: identity numbers, sealed messages waiting to be
sent and an erasure's sealed reply address, stored under the old SEVA_SECRET_KEY, are readable
again after the rotation; with a wrong old key nothing changes."""

from __future__ import annotations

import pytest

from seva_crm.core.common import crypto
from seva_crm.core.common.errors import DomainError
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.customers.identifiers import _context as identifier_context, plaintext
from seva_crm.core.messaging import sealed
from seva_crm.core.models import CustomerIdentifier, Message, PrivacyRequest
from seva_crm.core.privacy import replies
from seva_crm.core.privacy.key_rotation import rotate_personal_data
from tests.test_customer_identifiers import REVEAL, SET, aadhaar
from tests.test_customers import create
from tests.test_plugin_settings import OLD_KEY
from tests.test_privacy_requests import file_with_code, privacy_jobs  # noqa: F401 - a fixture (messages stay queued)
from tests.jobs_support import inprocess_jobs  # noqa: F401 - a fixture


def under_old_key(token: str, context: str) -> str:
    """``token`` as it would have been stored before SEVA_SECRET_KEY changed from OLD_KEY."""
    return crypto.encrypt(crypto.decrypt(token, context), context, secret=OLD_KEY)


async def test_rotation_reencrypts_identifiers_and_sealed_messages(tenant):
    number = aadhaar("34567890123")
    customer = (await create(tenant.api, name="Rotating Person", phone="9876501501"))["customer"]
    made = await tenant.api.ok(SET, c=customer["id"], k="aadhaar", v=number)
    identifier_id = made["customerIdentifierSet"]["identifier"]["id"]
    request, code = await file_with_code(tenant.api, customer["id"], "ERASURE")
    message = await Message.get(id=code.message_ids[0])
    pending = await PrivacyRequest.get(id=from_global_id(request["id"], "PrivacyRequest"))
    await PrivacyRequest.filter(id=pending.id).update(status="in_progress",
                                                      result={"reply_to": await replies.address_for_reply(pending, ["sms"])})
    # as if all three were stored before the key changed
    row = await CustomerIdentifier.get(id=from_global_id(identifier_id, "CustomerIdentifier"))
    await CustomerIdentifier.filter(id=row.id).update(
        value=under_old_key(row.value, identifier_context(row.tenant_id, row.customer_id, row.kind)))
    await Message.filter(id=message.id).update(body=under_old_key(message.body, sealed._context(tenant.id, message.id)))
    pending = await PrivacyRequest.get(id=pending.id)
    await PrivacyRequest.filter(id=pending.id).update(
        result={"reply_to": under_old_key(pending.result["reply_to"], replies._context(pending))})
    with pytest.raises(crypto.CryptoError):
        plaintext(await CustomerIdentifier.get(id=row.id))  # unreadable under the current key

    stored = (await CustomerIdentifier.get(id=row.id)).value
    with pytest.raises(DomainError, match=f"customer_identifier {row.id}: encrypted under an unknown key") as refused:
        await rotate_personal_data(("wrong-old-key-0123456789-abcdefghijklmnopqrs",), tenant.id)
    assert number not in str(refused.value) and code.secret not in str(refused.value)  # named, never shown
    assert (await CustomerIdentifier.get(id=row.id)).value == stored  # all or nothing

    report = await rotate_personal_data((OLD_KEY,), tenant.id)
    assert report.rotated == {"customer_identifier": 1, "message": 1, "privacy_request": 1}
    shown = (await tenant.api.ok(REVEAL, id=identifier_id))["customerIdentifierReveal"]
    assert shown == {"value": number, "errors": []}
    body, _ = sealed.unseal(tenant.id, message.id, (await Message.get(id=message.id)).body)
    assert code.secret in body  # the queued code can still be sent
    pending = await PrivacyRequest.get(id=pending.id)
    assert "9876501501" in crypto.decrypt(pending.result["reply_to"], replies._context(pending))
    again = await rotate_personal_data((OLD_KEY,), tenant.id)
    assert again.rotated == {} and again.current == 3
