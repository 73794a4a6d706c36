"""The compliance report: each duty met or not as the tenant's state says, open requests with
days left, consent coverage, disclosures by provider, the last audit verification; as
GraphQL sections and a printable page, for owners and admins only."""

from datetime import timedelta
from uuid import uuid4

from seva_crm.core.common.enums import Role
from seva_crm.core.common.security import utcnow
from seva_crm.core.models import SchedulerLease
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.platform import audit_checkpoints, disclosures
from seva_crm.core.privacy import compliance
from seva_crm.core.privacy.audit_schedule import verify_and_record
from tests.test_consent import grant, publish
from tests.test_customers import create
from tests.test_privacy_requests import file

REPORT = "{ complianceReport { key status items { label value status detail } } }"
PROFILE = "mutation($input: PrivacyProfileInput!) { privacyProfileUpdate(input: $input) { errors { code } } }"


def sections(data) -> dict:
    return {s["key"]: s for s in data["complianceReport"]}


def item(section, label) -> dict:
    return next(i for i in section["items"] if i["label"] == label)


async def test_the_report_follows_what_the_tenant_has_done(make_tenant):
    tenant = await make_tenant(privacy_contact=None)
    first = sections(await tenant.api.ok(REPORT))
    duties = first["duties"]
    assert duties["status"] == "not_met"
    assert item(duties, "Grievance contact published")["status"] == "not_met"
    assert item(duties, "Consent notice in en")["status"] == "not_met"
    assert item(duties, "Audit log checkpointed (last day)")["value"] == "never"
    assert item(first["disclosures"], "Disclosures")["value"] == "none"
    assert first["audit"]["items"][0]["value"] == "never"
    assert first["requests"]["items"] == [{"label": "Open requests", "value": "none", "status": "info", "detail": ""}]

    await tenant.api.ok(PROFILE, input={"contactName": "Grievance Officer", "contactEmail": "dpo@centre.example.com"})
    for language in ("EN", "HI", "BN"):
        await publish(tenant.api, language=language)
    customer = (await create(tenant.api, name="Coverage One"))["customer"]
    await create(tenant.api, name="Coverage Two")
    await grant(tenant.api, customer["id"], "marketing")
    await file(tenant.api, customer["id"], "ACCESS")
    await disclosures.record_message(tenant.id, from_global_id(customer["id"], "Customer"), "email", "email", uuid4(), "service")
    await audit_checkpoints.checkpoint(chain=str(tenant.id))
    await verify_and_record(chain=str(tenant.id))
    await SchedulerLease.update_or_create(name="retention.kept_records",
                                          defaults={"expires_at": utcnow() + timedelta(days=1), "last_run_at": utcnow()})

    now = sections(await tenant.api.ok(REPORT))
    assert now["duties"]["status"] == "met", now["duties"]
    assert now["audit"]["status"] == "met"
    [request] = now["requests"]["items"]
    assert request["label"] == "access (received)" and request["value"] == "30 days left" and request["status"] == "met"
    assert item(now["consent"], "marketing")["value"] == "1 of 2 customers"
    [sent] = now["disclosures"]["items"]  # the disclosure ledger, per provider
    assert sent["value"] == "1 disclosures about 1 customers" and sent["detail"].startswith("email, message text, name")
    assert item(now["consent"], "service")["value"] == "0 of 2 customers"

    later = {s.key: s for s in await compliance.report(tenant.id, utcnow() + timedelta(days=34))}
    assert later["requests"].items[0].value == "4 days overdue" and later["requests"].status == "not_met"
    assert later["audit"].status == "not_met"  # verified, but long ago
    stale = {i.label: i.status for i in later["duties"].items}
    assert stale["Retention job ran (last 2 days)"] == "not_met" and stale["Audit log checkpointed (last day)"] == "not_met"


async def test_a_printable_page_for_owners_and_admins_only(tenant):
    html = (await tenant.api.ok("{ complianceReportHtml }"))["complianceReportHtml"]
    assert html.startswith("<!doctype html>") and "Compliance report" in html and "<script" not in html
    assert "Disclosures by provider (last 12 months)" in html
    for role in (Role.AGENT, Role.VIEWER):
        body = await (await tenant.api_as(role))(REPORT)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
