"""Consent notices and the consent ledger, children and guardians."""

from datetime import date

from seva_crm.core.common.security import utcnow

from seva_crm.core.models import Consent
from seva_crm.core.privacy.consent import has_consent
from seva_crm.core.common.enums import Region
from tests.test_customers import create

NOTICE = """mutation($input: ConsentNoticeInput!) {
  consentNoticePublish(input: $input) { consentNotice { version language } errors { field code message } }
}"""
GRANT = """mutation($input: ConsentGrantInput!) {
  consentGrant(input: $input) { consent { id purpose channel granted source noticeVersion actorType guardianConsent }
  errors { field code message } }
}"""
WITHDRAW = """mutation($input: ConsentWithdrawInput!) {
  consentWithdraw(input: $input) { consent { granted source } errors { field code message } }
}"""
FULL_NOTICE = {
    "language": "EN",
    "personalData": ["name", "phone number", "services used"],
    "purposes": ["service: doing the services you ask for", "marketing: offers, if you agree"],
    "goodsServices": "government e-services at our centre",
    "withdrawLink": "https://centre.example.com/withdraw",
    "rightsLink": "https://centre.example.com/rights",
    "complaintLink": "https://www.dpboard.gov.in/",
    "contact": "Grievance officer: Ravi, ravi@centre.example.com",
}


async def publish(api, **overrides):
    return (await api.ok(NOTICE, input={**FULL_NOTICE, **overrides}))["consentNoticePublish"]


async def grant(api, customer_id, purpose="marketing", **extra):
    return (await api.ok(GRANT, input={"customerId": customer_id, "purpose": purpose, **extra}))["consentGrant"]


async def test_indian_notice_missing_elements_is_refused_naming_each(tenant):
    result = await publish(tenant.api, goodsServices="", complaintLink="", rightsLink="")
    assert result["consentNotice"] is None
    missing = {e["field"]: e for e in result["errors"]}
    assert set(missing) == {"goodsServices", "complaintLink", "rightsLink"}
    assert all(e["code"] == "REQUIRED" and "Rule 3" in e["message"] for e in missing.values())
    assert "complain to the Board" in missing["complaintLink"]["message"]
    first = await publish(tenant.api)
    assert first["errors"] == [] and first["consentNotice"]["version"] == 1
    assert (await publish(tenant.api))["consentNotice"]["version"] == 2
    assert (await publish(tenant.api, language="HI"))["consentNotice"] == {"version": 1, "language": "HI"}


async def test_bangladesh_notice_language_and_union_when_answering_to_both(make_tenant):
    bd = await make_tenant(Region.BD)
    short = {k: v for k, v in FULL_NOTICE.items() if k not in ("goodsServices", "rightsLink", "complaintLink")}
    assert (await bd.api.ok(NOTICE, input=short))["consentNoticePublish"]["errors"] == []
    hindi = (await bd.api.ok(NOTICE, input={**short, "language": "HI"}))["consentNoticePublish"]
    assert hindi["errors"][0]["field"] == "language"
    await bd.api.ok('mutation { privacyProfileUpdate(input: {alsoAnswersTo: [IN]}) { errors { code } } }')
    both = (await bd.api.ok(NOTICE, input=short))["consentNoticePublish"]
    assert {e["field"] for e in both["errors"]} == {"goodsServices", "rightsLink", "complaintLink"}


async def test_ledger_appends_and_latest_entry_wins(tenant):
    customer = (await create(tenant.api, name="Kiran", phone="9876500101"))["customer"]
    none_yet = await grant(tenant.api, customer["id"])
    assert none_yet["errors"][0]["field"] == "noticeVersion"  # consent follows the notice
    await publish(tenant.api)
    cid = customer["id"]
    from seva_crm.core.common.ids import from_global_id

    uuid = from_global_id(cid, "Customer")
    assert not await has_consent(tenant.id, uuid, "marketing", "sms")  # nothing recorded: not granted
    given = await grant(tenant.api, cid, channel="SMS")
    assert given["errors"] == [] and given["consent"]["noticeVersion"] == "1" and given["consent"]["actorType"] == "user"
    assert await has_consent(tenant.id, uuid, "marketing", "sms")
    assert not await has_consent(tenant.id, uuid, "marketing", "email")
    await grant(tenant.api, cid)  # every channel
    assert await has_consent(tenant.id, uuid, "marketing", "email")
    withdrawn = (await tenant.api.ok(WITHDRAW, input={"customerId": cid, "purpose": "marketing", "source": "STOP_REPLY"}))
    assert withdrawn["consentWithdraw"]["consent"] == {"granted": False, "source": "STOP_REPLY"}
    assert not await has_consent(tenant.id, uuid, "marketing", "sms")  # the later every-channel withdrawal wins
    await grant(tenant.api, cid, channel="WHATSAPP")
    assert await has_consent(tenant.id, uuid, "marketing", "whatsapp") and not await has_consent(tenant.id, uuid, "marketing", "sms")
    history = await tenant.api.ok('query($c: ID!) { consents(customerId: $c) { totalCount edges { node { granted channel } } } }', c=cid)
    assert history["consents"]["totalCount"] == 4  # appended, never overwritten
    assert [e["node"]["granted"] for e in history["consents"]["edges"]] == [True, False, True, True]
    row = await Consent.filter(customer_id=uuid).order_by("created_at").first()
    assert row.evidence["ip"] == "127.0.0.1" and row.evidence["actor_id"]
    assert (await tenant.api.ok('query($c: ID!) { consentGiven(customerId: $c, purpose: "marketing", channel: "whatsapp") }',
                                c=cid))["consentGiven"]


async def test_tenant_defined_purposes(tenant):
    await publish(tenant.api)
    customer = (await create(tenant.api, name="Sunil"))["customer"]
    unknown = await grant(tenant.api, customer["id"], purpose="loyalty")
    assert unknown["errors"][0]["field"] == "purpose"
    await tenant.api.ok('mutation { privacyProfileUpdate(input: {customPurposes: ["loyalty"]}) { errors { code } } }')
    # a purpose the notice in force does not list cannot be consented to
    unlisted = await grant(tenant.api, customer["id"], purpose="loyalty")
    assert unlisted["errors"][0]["field"] == "purpose" and unlisted["errors"][0]["code"] == "INVALID"
    assert "does not list loyalty" in unlisted["errors"][0]["message"]
    assert (await publish(tenant.api, purposes=[*FULL_NOTICE["purposes"], "loyalty: points on every visit"]))["errors"] == []
    assert (await grant(tenant.api, customer["id"], purpose="loyalty"))["errors"] == []


async def test_children_get_no_marketing_and_need_a_guardian(tenant):
    await publish(tenant.api)
    today = utcnow().date()
    child = (await create(tenant.api, name="Young One", dateOfBirth=date(today.year - 12, 1, 1).isoformat()))["customer"]
    marketing = await grant(tenant.api, child["id"], purpose="marketing")
    assert marketing["errors"][0]["code"] == "FORBIDDEN" and "s.9(3)" in marketing["errors"][0]["message"]
    profiling_purpose = await tenant.api.ok('mutation { privacyProfileUpdate(input: {customPurposes: ["profiling"]}) { errors { code } } }')
    assert profiling_purpose["privacyProfileUpdate"]["errors"] == []
    assert (await grant(tenant.api, child["id"], purpose="profiling"))["errors"][0]["code"] == "FORBIDDEN"
    service = await grant(tenant.api, child["id"], purpose="service")
    assert service["errors"][0]["field"] == "guardian" and "Rule 10" in service["errors"][0]["message"]
    with_guardian = await grant(tenant.api, child["id"], purpose="service",
                                guardian={"name": "Parent Person", "relation": "mother", "verifiedBy": "in person, voter id"})
    assert with_guardian["errors"] == [] and with_guardian["consent"]["guardianConsent"] is True
    adult = (await create(tenant.api, name="Grown Up", dateOfBirth=date(today.year - 30, 1, 1).isoformat()))["customer"]
    assert (await grant(tenant.api, adult["id"], purpose="marketing"))["errors"] == []


async def test_the_outbox_asks_the_ledger_and_never_markets_to_a_child(tenant):
    from seva_crm.core.models import Customer
    from seva_crm.core.privacy.consent import may_send
    from seva_crm.core.common.security import utcnow

    def from_gid(gid):
        from seva_crm.core.common.ids import from_global_id

        return from_global_id(gid, "Customer")

    adult = await Customer.get(id=from_gid((await create(tenant.api, name="Adult Person"))["customer"]["id"]))
    today = utcnow().date()
    child = await Customer.get(id=from_gid((await create(tenant.api, name="Young Person"))["customer"]["id"]))
    await Customer.filter(id=child.id).update(date_of_birth=date(today.year - 12, 1, 1))
    await child.refresh_from_db()
    for who in (adult, child):
        assert await may_send(tenant.id, who, "service", "sms")  # service messages need no consent
        assert not await may_send(tenant.id, who, "marketing", "sms")
        # a ledger entry made before the date of birth was known (an import): written directly
        await Consent.create(tenant_id=tenant.id, customer_id=who.id, purpose="marketing", channel=None, granted=True,
                             source="import")
    assert await may_send(tenant.id, adult, "marketing", "sms")
    assert not await may_send(tenant.id, child, "marketing", "sms")  # DPDP s.9(3): no marketing to children


async def test_consent_is_per_kind_of_channel(tenant):
    """A channel id is recorded as its kind: consent given through a partner's SMS gateway covers
    every SMS channel, and a withdrawal on one SMS channel withdraws it on all of them."""
    from seva_crm.core.common.ids import from_global_id
    from seva_crm.core.platform.plugins import Plugins, set_plugins
    from tests.channel_plugin import ChannelPlugin, NullChannel

    gateway = NullChannel("acme-sms")
    gateway.kind = "sms"
    set_plugins(Plugins(extra=(ChannelPlugin([gateway], plugin_id="acme"),)))  # with the built-in plugins
    try:
        await publish(tenant.api)
        cid = (await create(tenant.api, name="Meena", phone="9876500102"))["customer"]["id"]
        uuid = from_global_id(cid, "Customer")
        given = await grant(tenant.api, cid, channel="acme-sms")
        assert given["errors"] == [] and given["consent"]["channel"] == "sms"
        assert await has_consent(tenant.id, uuid, "marketing", "sms")  # the built-in SMS plugin's channel too
        assert not await has_consent(tenant.id, uuid, "marketing", "whatsapp")
        given_q = 'query($c: ID!, $ch: String) { consentGiven(customerId: $c, purpose: "marketing", channel: $ch) }'
        assert (await tenant.api.ok(given_q, c=cid, ch="sms"))["consentGiven"]
        assert (await tenant.api.ok(given_q, c=cid, ch="acme-sms"))["consentGiven"]

        unknown = await grant(tenant.api, cid, channel="pigeon")
        assert unknown["consent"] is None
        [error] = unknown["errors"]
        assert (error["field"], error["code"]) == ("channel", "INVALID")
        assert "'pigeon'" in error["message"] and "acme-sms" in error["message"] and "kinds: email, sms, whatsapp" in error["message"]

        stopped = await tenant.api.ok(WITHDRAW, input={"customerId": cid, "purpose": "marketing", "channel": "sms", "source": "STOP_REPLY"})
        assert stopped["consentWithdraw"]["consent"] == {"granted": False, "source": "STOP_REPLY"}
        assert not (await tenant.api.ok(given_q, c=cid, ch="acme-sms"))["consentGiven"]  # a STOP on one SMS channel: all of them
    finally:
        set_plugins(None)
