"""Every settings change is in the audit log with its actor and before and after values; secrets
only as "changed", the privacy contact's personal details as keyed digests."""

from seva_crm.core.billing.settings import update_billing_settings
from seva_crm.core.models import AuditEvent
from seva_crm.core.platform import audit
from tests.test_plugin_settings import WHATSAPP, update


async def _last(tenant, action: str) -> AuditEvent:
    return await AuditEvent.filter(tenant_id=tenant.id, action=action).order_by("-seq").first()


async def test_plugin_settings_changes_are_audited_without_secrets(tenant):
    await update(tenant.api, "whatsapp", enabled=True, settings=WHATSAPP)
    first = await _last(tenant, "plugin_settings.updated")
    assert first.actor_type == "user" and first.subject_id == "whatsapp"
    assert first.details["before"]["enabled"] is False and first.details["after"]["enabled"] is True
    assert first.details["after"]["phone_number_id"] == "106540352242922"
    assert first.details["after"]["access_token"] == "changed" and "access_token" not in first.details["before"]

    await update(tenant.api, "whatsapp", settings={"phoneNumberId": "106540352242999", "accessToken": "EAAG-rotated"})
    second = await _last(tenant, "plugin_settings.updated")
    assert second.seq > first.seq
    assert set(second.changed) == {"accessToken", "phoneNumberId"}
    assert second.details["before"] == {"phone_number_id": "106540352242922"}
    assert second.details["after"] == {"phone_number_id": "106540352242999", "access_token": "changed"}
    events = " ".join(str(e.details) for e in await AuditEvent.filter(tenant_id=tenant.id, action="plugin_settings.updated"))
    assert "EAAG" not in events and "app-secret-1" not in events

    await update(tenant.api, "whatsapp", enabled=False)
    assert (await _last(tenant, "plugin_settings.updated")).details == {"before": {"enabled": True}, "after": {"enabled": False}}


async def test_billing_settings_changes_are_audited_with_before_and_after(tenant):
    token = audit.set_actor(audit.Actor("user", "u-1"))
    try:
        await update_billing_settings(tenant.id, {"invoice_prefix": "CSC", "grace_days": 10})
        await update_billing_settings(tenant.id, {"grace_days": 10})  # no change: no entry
    finally:
        audit.reset_actor(token)
    events = await AuditEvent.filter(tenant_id=tenant.id, action="billing_settings.updated")
    assert len(events) == 1 and events[0].actor_id == "u-1"
    assert events[0].details == {"before": {"grace_days": 7, "invoice_prefix": "INV"}, "after": {"grace_days": 10, "invoice_prefix": "CSC"}}


async def test_privacy_profile_changes_show_before_and_after_with_contacts_digested(make_tenant):
    tenant = await make_tenant(privacy_contact=None)
    mutation = "mutation($input: PrivacyProfileInput!) { privacyProfileUpdate(input: $input) { errors { code } } }"
    await tenant.api.ok(mutation, input={"customPurposes": ["loyalty"], "contactEmail": "dpo@centre.example.com"})
    await tenant.api.ok(mutation, input={"customPurposes": ["loyalty", "surveys"]})
    first, second = await AuditEvent.filter(tenant_id=tenant.id, action="privacy_profile.updated").order_by("seq")
    assert first.details["before"]["custom_purposes"] == [] and first.details["after"]["custom_purposes"] == ["loyalty"]
    assert first.details["after"]["contact_email"].startswith("h:") and "dpo@" not in str(first.details)
    assert second.details == {"before": {"custom_purposes": ["loyalty"]}, "after": {"custom_purposes": ["loyalty", "surveys"]}}
