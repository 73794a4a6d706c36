"""A new version of the consent notice is told to the customers whose consent rests on an older
one (through the outbox, in their language, under the business's name); where the purposes
grew, they are asked again. Customers without consent, or of another language, are not told."""

from __future__ import annotations

from seva_crm.core.common.ids import from_global_id
from seva_crm.core.models import Message
from tests.test_consent import FULL_NOTICE, grant, publish
from tests.test_customers import create


async def told(customer_gid: str) -> list[Message]:
    return await Message.filter(customer_id=from_global_id(customer_gid, "Customer"),
                                template__startswith="privacy_notice").order_by("created_at")


async def test_a_new_notice_version_is_told_and_new_purposes_asked_again(make_tenant):
    t = await make_tenant(name="Joshi Services")
    assert (await publish(t.api))["errors"] == []
    consenting = (await create(t.api, name="Consenting", phone="9876501201"))["customer"]
    silent = (await create(t.api, name="Never Asked", phone="9876501202"))["customer"]
    assert (await grant(t.api, consenting["id"], "service"))["errors"] == []

    # same purposes, new wording: told, not asked
    assert (await publish(t.api, goodsServices="e-services and printing"))["errors"] == []
    [first] = await told(consenting["id"])
    assert first.template == "privacy_notice_updated" and first.body.startswith("Joshi Services:") and "(version 2)" in first.body
    assert await told(silent["id"]) == []

    # a purpose added: asked again, naming it
    grown = [*FULL_NOTICE["purposes"], "sharing with our bank partner"]
    assert (await publish(t.api, purposes=grown))["errors"] == []
    second = (await told(consenting["id"]))[-1]
    assert second.template == "privacy_notice_new_purposes" and "sharing with our bank partner" in second.body
    assert "unless you agree" in second.body and second.purpose == "service"
    assert await told(silent["id"]) == []


async def test_customers_are_told_in_their_language_only_for_that_notice(make_tenant):
    t = await make_tenant(name="Patel Kendra")
    await publish(t.api)
    await publish(t.api, language="HI")
    hindi = (await create(t.api, name="Hindi Reader", phone="9876501211", language="HI"))["customer"]
    await grant(t.api, hindi["id"], "service")
    await publish(t.api, goodsServices="changed in English only")
    assert await told(hindi["id"]) == []  # the Hindi notice did not change
    await publish(t.api, language="HI", goodsServices="हिंदी में बदला")
    [message] = await told(hindi["id"])
    assert message.body.startswith("Patel Kendra:") and "सूचना" in message.body
