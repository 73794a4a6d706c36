"""Status notifications: a service record entering READY tells the customer, through the outbox,
by the tenant's rules; rules are the admin's to change."""

from seva_crm.core.common.enums import Language, Role
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.customers import customers
from seva_crm.core.models import AuditEvent, Message

CREATE = """mutation($input: ServiceRecordCreateInput!) { serviceRecordCreate(input: $input) { serviceRecord { id } errors { code } } }"""
UPDATE = """mutation($id: ID!, $status: ServiceStatus!) {
  serviceRecordUpdate(id: $id, input: {status: $status}) { serviceRecord { status } errors { field code } } }"""
SET = """mutation($subject: String!, $status: String!, $template: String!, $enabled: Boolean!) {
  statusRuleSet(subject: $subject, status: $status, template: $template, enabled: $enabled) {
    rule { subject status template enabled default } errors { field code message } } }"""


async def record(tenant, language=Language.EN, name="Asha Devi"):
    customer = await customers.create_customer(tenant.scope, {"name": name, "phone": None, "language": language})
    data = await tenant.api.ok(CREATE, input={"customerId": to_global_id("Customer", customer.id), "serviceName": "PAN card"})
    return customer, data["serviceRecordCreate"]["serviceRecord"]["id"]


async def test_marking_a_record_ready_queues_the_document_ready_message_once(tenant):
    customer, rid = await record(tenant)
    await tenant.api.ok(UPDATE, id=rid, status="IN_PROGRESS")
    assert await Message.filter(customer_id=customer.id).count() == 0  # no rule for in progress
    await tenant.api.ok(UPDATE, id=rid, status="READY")
    [message] = await Message.filter(customer_id=customer.id)
    assert message.template == "document_ready"
    assert message.body == "Hello Asha Devi, your PAN card is ready. Please collect it from Test Centre."
    await tenant.api.ok(UPDATE, id=rid, status="DELIVERED")
    assert await Message.filter(customer_id=customer.id).count() == 1


async def test_the_message_is_in_the_customers_language(tenant):
    customer, rid = await record(tenant, Language.BN, "রহিম")
    await tenant.api.ok(UPDATE, id=rid, status="READY")
    [message] = await Message.filter(customer_id=customer.id)
    assert message.body.startswith("নমস্কার রহিম, আপনার PAN card প্রস্তুত।")


async def test_a_refused_transition_sends_nothing(tenant):
    customer, rid = await record(tenant)
    await tenant.api.ok(UPDATE, id=rid, status="CANCELLED")
    data = await tenant.api.ok(UPDATE, id=rid, status="READY")
    assert data["serviceRecordUpdate"]["errors"] == [{"field": "status", "code": "INVALID_TRANSITION"}]
    assert await Message.filter(customer_id=customer.id).count() == 0


async def test_admins_change_rules_and_bad_rules_are_refused(tenant):
    rules = (await tenant.api.ok("{ statusRules { subject status template enabled default } }"))["statusRules"]
    assert {"subject": "service_record", "status": "ready", "template": "document_ready", "enabled": True, "default": True} in rules
    off = await tenant.api.ok(SET, subject="service_record", status="ready", template="document_ready", enabled=False)
    assert off["statusRuleSet"]["rule"]["enabled"] is False
    customer, rid = await record(tenant)
    await tenant.api.ok(UPDATE, id=rid, status="READY")
    assert await Message.filter(customer_id=customer.id).count() == 0
    bad = await tenant.api.ok(SET, subject="service_record", status="ready", template="invoice_due", enabled=True)
    assert {e["field"]: e["code"] for e in bad["statusRuleSet"]["errors"]} == {"template": "MISSING_VARIABLE"}
    bad = await tenant.api.ok(SET, subject="service_record", status="gone", template="offer", enabled=True)
    assert {e["field"] for e in bad["statusRuleSet"]["errors"]} == {"status", "template"}
    agent = await tenant.api_as(Role.AGENT)
    refused = await agent(SET, subject="service_record", status="ready", template="document_ready", enabled=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await AuditEvent.filter(tenant_id=tenant.id, action="status_rule.set").count() == 1
