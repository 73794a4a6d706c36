"""Billing through GraphQL: roles, payloads and camelCase errors, BigInt amounts, filters,
the invoice page, and constant SQL for nested fields."""

from datetime import timedelta

from seva_crm.core.billing.clock import tenant_today
from seva_crm.core.common.enums import Role
from tests.conftest import QueryCounter
from tests.test_customers import create

PLAN = """mutation($input: PlanCreateInput!) { planCreate(input: $input) {
  plan { id name interval taxRateBp active price { amount currency } } errors { field code message } } }"""
SUBSCRIBE = """mutation($input: SubscriptionCreateInput!) { subscriptionCreate(input: $input) {
  subscription { id status currentPeriodStart nextRenewalOn plan { name } customer { name } } errors { field code message } } }"""
INVOICE = """mutation($input: InvoiceCreateInput!) { invoiceCreate(input: $input) {
  invoice { id number status subtotal { amount } taxTotal { amount } total { amount currency } amountDue { amount }
            lines { description quantity unitAmount amount taxRateBp taxAmount } taxLines { rateBp taxable { amount } tax { amount } } }
  errors { field code message } } }"""
PAY = """mutation($input: PaymentRecordInput!) { paymentRecord(input: $input) {
  payment { id amount { amount } method reference invoice { status amountPaid { amount } amountDue { amount } } }
  errors { field code message } } }"""
REFUND = """mutation($input: PaymentRefundInput!) { paymentRefund(input: $input) {
  refund { amount status } errors { field code message } } }"""


async def make_plan(api, **extra):
    data = await api.ok(PLAN, input={"name": "Home 50", "amount": 49900, "interval": "MONTHLY", "taxRateBp": 1800, **extra})
    return data["planCreate"]


async def test_roles_viewer_reads_agent_writes_admin_creates_plans(tenant):
    viewer, agent, admin = [await tenant.api_as(r) for r in (Role.VIEWER, Role.AGENT, Role.ADMIN)]
    for api in (viewer, agent):
        body = await api(PLAN, input={"name": "x", "amount": 100, "interval": "MONTHLY"})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    plan = (await make_plan(admin))["plan"]
    assert plan["price"] == {"amount": "49900", "currency": "INR"} and plan["taxRateBp"] == 1800
    customer = (await create(agent, name="Ravi"))["customer"]
    body = await viewer(SUBSCRIBE, input={"customerId": customer["id"], "planId": plan["id"]})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    sub = (await agent.ok(SUBSCRIBE, input={"customerId": customer["id"], "planId": plan["id"]}))["subscriptionCreate"]
    assert sub["errors"] == [] and sub["subscription"]["status"] == "ACTIVE"
    assert (await viewer.ok("{ plans { totalCount } subscriptions { totalCount } invoices { totalCount } }")) == {
        "plans": {"totalCount": 1}, "subscriptions": {"totalCount": 1}, "invoices": {"totalCount": 1}}


async def test_input_errors_use_api_field_names(tenant):
    bad = await make_plan(tenant.api, amount=-1, taxRateBp=10001, name=" ")
    assert {e["field"] for e in bad["errors"]} == {"name", "amount", "taxRateBp"}
    customer = (await create(tenant.api, name="Meena"))["customer"]
    data = await tenant.api.ok(INVOICE, input={"customerId": customer["id"], "lines": [
        {"description": "ok", "unitAmount": 100}, {"description": "bad", "unitAmount": -100, "quantity": 0}]})
    assert [(e["field"], e["code"]) for e in data["invoiceCreate"]["errors"]] == [
        ("lines.1.quantity", "INVALID"), ("lines.1.unitAmount", "INVALID")]


async def test_invoice_payments_refunds_and_summary_through_the_api(tenant):
    customer = (await create(tenant.api, name="Asha"))["customer"]
    invoice = (await tenant.api.ok(INVOICE, input={"customerId": customer["id"], "lines": [
        {"description": "Router", "unitAmount": 8325, "quantity": 3, "taxRateBp": 1800},
        {"description": "Visit", "unitAmount": 25, "taxRateBp": 1800}]}))["invoiceCreate"]["invoice"]
    assert (invoice["subtotal"], invoice["taxTotal"], invoice["total"]) == (
        {"amount": "25000"}, {"amount": "4501"}, {"amount": "29501", "currency": "INR"})
    assert invoice["lines"][0] == {"description": "Router", "quantity": 3, "unitAmount": "8325", "amount": "24975",
                                   "taxRateBp": 1800, "taxAmount": "4496"}
    assert invoice["taxLines"] == [{"rateBp": 1800, "taxable": {"amount": "25000"}, "tax": {"amount": "4501"}}]

    part = (await tenant.api.ok(PAY, input={"invoiceId": invoice["id"], "amount": 10000, "method": "UPI",
                                            "reference": "UPI-77"}))["paymentRecord"]
    assert part["payment"]["invoice"] == {"status": "OPEN", "amountPaid": {"amount": "10000"}, "amountDue": {"amount": "19501"}}
    too_much = (await tenant.api.ok(PAY, input={"invoiceId": invoice["id"], "amount": 19502}))["paymentRecord"]
    assert too_much["errors"][0]["field"] == "amount"
    rest = (await tenant.api.ok(PAY, input={"invoiceId": invoice["id"], "amount": 19501}))["paymentRecord"]
    assert rest["payment"]["invoice"]["status"] == "PAID"
    refund = (await tenant.api.ok(REFUND, input={"paymentId": part["payment"]["id"], "amount": 10001}))["paymentRefund"]
    assert refund["errors"][0]["field"] == "amount"
    refund = (await tenant.api.ok(REFUND, input={"paymentId": part["payment"]["id"], "amount": 4000,
                                                 "reason": "goodwill"}))["paymentRefund"]
    assert refund["refund"] == {"amount": "4000", "status": "PROCESSED"}

    summary = (await tenant.api.ok("{ billingSummary { currency duesOutstanding overdue collectedThisMonth mrr } }"))["billingSummary"]
    # the refunded invoice asks for nothing more
    assert summary == {"currency": "INR", "duesOutstanding": "0", "overdue": "0", "collectedThisMonth": "25501", "mrr": "0"}
    voided = await tenant.api.ok("mutation($id: ID!) { invoiceVoid(id: $id) { errors { code } } }", id=invoice["id"])
    assert voided["invoiceVoid"]["errors"] == [{"code": "INVALID"}]  # payments taken: refund them first


async def test_subscription_pause_resume_cancel_and_filters(tenant):
    plan = (await make_plan(tenant.api))["plan"]
    c1 = (await create(tenant.api, name="One"))["customer"]
    c2 = (await create(tenant.api, name="Two"))["customer"]
    s1 = (await tenant.api.ok(SUBSCRIBE, input={"customerId": c1["id"], "planId": plan["id"]}))["subscriptionCreate"]["subscription"]
    await tenant.api.ok(SUBSCRIBE, input={"customerId": c2["id"], "planId": plan["id"], "trialDays": 7})
    act = "mutation($id: ID!) { %s(id: $id) { subscription { status } errors { field code } } }"
    assert (await tenant.api.ok(act % "subscriptionResume", id=s1["id"]))["subscriptionResume"]["errors"] == [
        {"field": "id", "code": "INVALID_TRANSITION"}]
    assert (await tenant.api.ok(act % "subscriptionPause", id=s1["id"]))["subscriptionPause"]["subscription"] == {"status": "PAUSED"}
    assert (await tenant.api.ok(act % "subscriptionResume", id=s1["id"]))["subscriptionResume"]["subscription"] == {"status": "ACTIVE"}
    assert (await tenant.api.ok(act % "subscriptionCancel", id=s1["id"]))["subscriptionCancel"]["subscription"] == {"status": "CANCELLED"}

    lists = await tenant.api.ok("""query($c: ID!, $today: Date!, $later: Date!) {
      trialing: subscriptions(filter: {status: [TRIALING]}) { edges { node { customer { name } } } }
      ofOne: invoices(filter: {customerId: $c}) { totalCount }
      dueToday: invoices(filter: {dueFrom: $today, dueTo: $today}) { totalCount }
      dueLater: invoices(filter: {dueFrom: $later}) { totalCount }
      overdue: invoices(filter: {overdue: true}) { totalCount }
      open: invoices(filter: {status: [OPEN]}) { totalCount }
      customer(id: $c) { subscriptions { status plan { name } } }
    }""", c=c1["id"], today=(today := await tenant_today(tenant.id)).isoformat(), later=(today + timedelta(days=1)).isoformat())
    assert lists["trialing"]["edges"] == [{"node": {"customer": {"name": "Two"}}}]
    assert (lists["ofOne"], lists["dueToday"], lists["dueLater"], lists["overdue"], lists["open"]) == (
        {"totalCount": 1}, {"totalCount": 1}, {"totalCount": 0}, {"totalCount": 0}, {"totalCount": 1})
    assert lists["customer"]["subscriptions"] == [{"status": "CANCELLED", "plan": {"name": "Home 50"}}]


async def test_invoice_html_is_escaped_and_self_contained(tenant):
    customer = (await create(tenant.api, name="<script>alert(1)</script> Devi", address='12 "Main" Rd & Sons'))["customer"]
    invoice = (await tenant.api.ok(INVOICE, input={"customerId": customer["id"], "lines": [
        {"description": "<b>Router</b>", "unitAmount": 123456, "taxRateBp": 1850}]}))["invoiceCreate"]["invoice"]
    html = (await tenant.api.ok("query($id: ID!) { invoice(id: $id) { html } }", id=invoice["id"]))["invoice"]["html"]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; Devi" in html
    assert "&lt;b&gt;Router&lt;/b&gt;" in html and "12 &quot;Main&quot; Rd &amp; Sons" in html
    assert invoice["number"] in html and "₹1,234.56" in html and "18.5%" in html
    assert "http" not in html.replace('content="width=device-width', "")  # nothing fetched from elsewhere


async def test_nested_billing_fields_cost_the_same_queries_at_any_page_size(tenant):
    plan = (await make_plan(tenant.api))["plan"]
    for i in range(12):
        customer = (await create(tenant.api, name=f"C{i}"))["customer"]
        sub = (await tenant.api.ok(SUBSCRIBE, input={"customerId": customer["id"], "planId": plan["id"]}))["subscriptionCreate"]
        invoice_id = (await tenant.api.ok("query($id: ID!) { subscription(id: $id) { invoices { edges { node { id } } } } }",
                                          id=sub["subscription"]["id"]))["subscription"]["invoices"]["edges"][0]["node"]["id"]
        await tenant.api.ok(PAY, input={"invoiceId": invoice_id, "amount": 1000})
    query = """query($n: Int) { invoices(first: $n) { edges { node { number total { amount }
        lines { amount } payments { amount { amount } refunds { amount } } paymentLink { shortUrl }
        customer { name subscriptions { status } } subscription { status plan { name } invoices(first: 2) { totalCount } } } } } }"""
    counts = {}
    await tenant.api.ok("{ me { email } }")  # the session's last use is fresh: no UPDATE of it within the minute
    for size in (2, 10):
        with QueryCounter() as counter:
            data = await tenant.api.ok(query, n=size)
        assert len(data["invoices"]["edges"]) == size
        assert all(len(e["node"]["payments"]) == 1 for e in data["invoices"]["edges"])
        counts[size] = counter.count
    assert counts[2] == counts[10]
