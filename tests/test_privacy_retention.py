"""Closing a tenant: data kept for the grace period, then purged table by table; the audit log
kept for the minimum log retention, then purged too."""

from datetime import timedelta

from seva_crm.core.platform import audit
from seva_crm.core.models import AuditEvent, Customer, ServiceRecord, Tenant, User
from seva_crm.core.privacy.retention import purge_terminated_tenants, tenant_tables
from tests.conftest import LOGIN, PASSWORD, Api
from tests.test_consent import grant, publish
from tests.test_customers import create
from tests.test_service_records import add


def test_every_tenant_table_is_known_children_first():
    order = [m._meta.db_table for m, _ in tenant_tables()]
    for table in ("customer", "service_record", "customer_tag", "consent", "message", "privacy_request", "staff_user",
                  "refresh_token", "api_key", "plugin_settings", "privacy_profile"):
        assert table in order, table
    assert order.index("service_record") < order.index("customer") and order.index("refresh_token") < order.index("staff_user")
    assert "audit_event" not in order and "tenant" not in order


async def test_close_then_purge_after_grace_keeping_logs_a_year(tenant, app):
    customer = (await create(tenant.api, name="Closing Customer", phone="9876500501"))["customer"]
    await add(tenant.api, customer["id"], "Certificate")
    await publish(tenant.api)
    await grant(tenant.api, customer["id"])
    name = (await Tenant.get(id=tenant.id)).name
    wrong = (await tenant.api.ok('mutation { tenantClose(confirmName: "nope") { errors { field } } }'))["tenantClose"]
    assert wrong["errors"][0]["field"] == "confirmName"
    closed = (await tenant.api.ok('mutation($n: String!) { tenantClose(confirmName: $n) { tenant { status } purgeAfter errors { code } } }',
                                  n=name))
    assert closed["tenantClose"]["tenant"]["status"] == "TERMINATED"
    relogin = await Api(app).ok(LOGIN, email=tenant.owner_email, password=PASSWORD)
    assert relogin["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"

    terminated = (await Tenant.get(id=tenant.id)).terminated_at
    assert [i for i in await purge_terminated_tenants(terminated + timedelta(days=89), dry_run=True) if i.tenant_id == tenant.id] == []
    (plan,) = [i for i in await purge_terminated_tenants(terminated + timedelta(days=91), dry_run=True) if i.tenant_id == tenant.id]
    assert plan.stage == "data" and plan.counts["customer"] == 1 and plan.counts["service_record"] == 1
    assert plan.counts["consent"] == 1 and plan.counts["staff_user"] == 1 and plan.counts["consent_notice"] == 1
    assert await Customer.filter(tenant_id=tenant.id).count() == 1  # a dry run deletes nothing

    (done,) = [i for i in await purge_terminated_tenants(terminated + timedelta(days=91)) if i.tenant_id == tenant.id]
    assert done.counts == plan.counts
    assert await Customer.filter(tenant_id=tenant.id).count() == 0 and await ServiceRecord.filter(tenant_id=tenant.id).count() == 0
    assert await User.filter(tenant_id=tenant.id).count() == 0
    events = await AuditEvent.filter(tenant_id=tenant.id).count()
    assert events > 5 and (await audit.verify(str(tenant.id))).ok  # the log outlives the data
    assert [i for i in await purge_terminated_tenants(terminated + timedelta(days=91 + 364)) if i.tenant_id == tenant.id] == []

    (logs,) = [i for i in await purge_terminated_tenants(terminated + timedelta(days=91 + 366)) if i.tenant_id == tenant.id]
    assert logs.stage == "logs" and logs.counts["audit_event"] == events
    assert await AuditEvent.filter(tenant_id=tenant.id).count() == 0 and not await Tenant.exists(id=tenant.id)
    assert (await audit.verify(audit.PLATFORM)).ok


def test_retention_command_dry_run_then_purge(new_seva):
    cli = new_seva(SEVA_TERMINATED_TENANT_GRACE_DAYS="0")

    def seva(*args):
        return cli(*args).stdout

    tenant_id = seva("tenant", "create", "--name", "Short Lived", "--region", "BD", "--owner-email", "o@short.example.com",
                     "--owner-password", "long-enough-pw").strip()
    assert seva("retention", "run", "--dry-run").strip() == "nothing to purge"
    seva("tenant", "close", "--tenant", tenant_id, "--confirm-name", "Short Lived")
    dry = seva("retention", "run", "--dry-run")
    assert f"tenant {tenant_id} (data): would purge" in dry and "staff_user: 1" in dry
    assert "staff_user: 1" in seva("retention", "run", "--dry-run")  # still there
    assert "(data): purged" in seva("retention", "run")
    assert seva("retention", "run", "--dry-run").strip() == "nothing to purge"
    assert "audit log intact" in seva("audit", "verify")
    assert seva("privacy", "sweep").startswith("escalated 0 overdue requests; 0 breach reminders")
