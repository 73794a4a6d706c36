"""Tenant B, signed in as its owner, aims every query and mutation at tenant A's objects:
each must answer as if the object did not exist, and A's data must be unchanged."""

from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.crm import leads as crm_leads, notes as crm_notes, tickets as crm_tickets
from seva_crm.core.models import (
    ApiKey, BreachIncident, Consent, Customer, GatewayReview, Invoice, Message, MessageTemplate, Payment, Plan, PluginSettings,
    PrivacyRequest, ServiceRecord, Session, Subscription, Tenant, User, WebhookDelivery, WebhookEndpoint,
)
from seva_crm.schema.build import build_schema
from tests.test_consent import grant, publish
from tests.test_customers import create
from tests.test_privacy_requests import file
from tests.test_service_records import add

# Root fields that take no object id (they act on the caller's own account or tenant, or are
# operator-only); everything else must appear in the probes below.
NOT_ADDRESSED = {
    "me", "users", "apiKeys", "tenants", "login", "tokenRefresh", "logout", "emailVerificationStart",
    "emailVerificationConfirm", "phoneVerificationStart", "phoneVerificationConfirm",
    "apiKeyCreate", "tenantCreate", "customerCreate", "customersImport",
    "pluginSettingsUpdate",  # names a plugin, not an object: acts on the caller's tenant's row (checked below)
    "notificationChannels", "channelOrderUpdate",  # the caller's tenant's channels and order (checked below)
    "razorpayCheckoutVerify",  # takes provider ids, checked against the caller's own keys (test_razorpay)
    "planCreate",  # creates in the caller's own catalogue, from no other object
    # the caller's own tenant's billing settings and profile
    "billingSettings", "billingSettingsUpdate", "tenantProfileUpdate",
    # privacy: the caller's own tenant's profile, policy, notices and breach register, and closing it
    "privacyProfile", "privacyPolicy", "privacyProfileUpdate", "consentNoticePublish", "breachReport", "tenantClose",
    # a closed tenant's owner, by email and password, exports or reopens their own tenant (test_tenant_closure)
    "closedTenantExport", "closedTenantReopen",
    # staff: one's own password, and the public reset by email address (test_staff)
    "passwordChange", "passwordResetStart", "passwordResetFinish",
    # invitations: to the caller's own tenant, accepted by token; revoking another's (test_invitations)
    "invitations", "userInvite", "invitationAccept", "invitationRevoke",
    # events out: the caller's own tenant's feed and endpoints (test_changes, test_webhooks)
    "changes", "changesHead", "webhookEndpoints", "webhookEventTypes", "webhookEndpointCreate",
    "myDataExport", "myAccountErase",  # the caller's own account's data (test_privacy_own_data)
    # the CRM's settings of the caller's own tenant, and creating a lead from no other object
    "statusRules", "statusRuleSet", "ticketSla", "ticketSlaSet", "leadStages", "leadStagesSet", "leadCreate",
    # the caller's own tenant's compliance report and export
    "complianceReport", "complianceReportHtml", "tenantExport",
}

TEMPLATE_UPSERT = "mutation($input: MessageTemplateInput!) { messageTemplateUpsert(input: $input) { errors { code } } }"

WHATSAPP = {"phoneNumberId": "1234567890", "accessToken": "EAAG-secret-token", "appSecret": "app-secret-a",
            "verifyToken": "verify-a"}


async def test_every_query_and_mutation_hides_other_tenants_objects(make_tenant):
    a, b = await make_tenant(name="Tenant A"), await make_tenant(name="Tenant B")
    customer = (await create(a.api, name="Secret Customer", phone="9876512345", email="secret@example.com"))["customer"]
    record = (await add(a.api, customer["id"], "Secret service"))["serviceRecord"]
    key = (await a.api.ok('mutation { apiKeyCreate(name: "k", role: VIEWER) { apiKey { id } } }'))["apiKeyCreate"]["apiKey"]
    configured = await a.api.ok('mutation($s: JSON) { pluginSettingsUpdate(plugin: "whatsapp", enabled: true, settings: $s) '
                                '{ errors { field } } }', s=WHATSAPP)
    assert configured["pluginSettingsUpdate"]["errors"] == []
    a_settings = (await PluginSettings.get(tenant_id=a.id, plugin_id="whatsapp")).__dict__.copy()
    await publish(a.api)
    await grant(a.api, customer["id"])
    request = (await file(a.api, customer["id"]))["privacyRequest"]
    breach = (await a.api.ok('mutation { breachReport(input: {title: "lost laptop"}) { breach { id } } }'))["breachReport"]["breach"]
    sent = (await a.api.ok('mutation($id: ID!) { messageSend(customer: $id, template: "document_ready", '
                           'variables: {service: "PAN card", centre: "the centre"}) { message { id } errors { code } } }',
                           id=customer["id"]))["messageSend"]
    assert sent["errors"] == [] and sent["message"]["id"]
    before = (await Customer.get(tenant_id=a.id)).__dict__.copy()
    secret_text = "Secret {name} text"
    own = await a.api.ok(TEMPLATE_UPSERT, input={"key": "secret_key", "purpose": "SERVICE",
                                                 "texts": [{"language": "en", "text": secret_text}]})
    assert own["messageTemplateUpsert"]["errors"] == []
    a_template = (await MessageTemplate.get(tenant_id=a.id, key="secret_key")).__dict__.copy()
    plan = (await a.api.ok('mutation { planCreate(input: {name: "Secret Plan", amount: 49900, interval: MONTHLY}) { plan { id } } }')
            )["planCreate"]["plan"]
    sub = (await a.api.ok("mutation($c: ID!, $p: ID!) { subscriptionCreate(input: {customerId: $c, planId: $p}) { subscription { id } } }",
                          c=customer["id"], p=plan["id"]))["subscriptionCreate"]["subscription"]
    invoice = (await a.api.ok("query($id: ID!) { subscription(id: $id) { invoices { edges { node { id total { amount } } } } } }",
                              id=sub["id"]))["subscription"]["invoices"]["edges"][0]["node"]
    payment = (await a.api.ok("mutation($i: ID!) { paymentRecord(input: {invoiceId: $i, amount: 100}) { payment { id } } }",
                              i=invoice["id"]))["paymentRecord"]["payment"]
    billing_before = {m.__name__: sorted(map(str, await m.filter(tenant_id=a.id).values_list("updated_at", flat=True)))
                      for m in (Plan, Subscription, Invoice, Payment)}

    held = await GatewayReview.create(tenant_id=a.id, provider="bkash", provider_payment_id="TR0011SECRET", kind="overpayment",
                                      amount=100, currency="INR", received_at=utcnow(), invoice_id=(await Invoice.get(tenant_id=a.id)).id)

    def not_found(field):
        return lambda d: d[field]["errors"][0]["code"] == "NOT_FOUND"

    identifier = (await a.api.ok('mutation($id: ID!) { customerIdentifierSet(customerId: $id, kind: "pan", value: "ABCDE1234F") '
                                 '{ identifier { id } } }', id=customer["id"]))["customerIdentifierSet"]["identifier"]
    rid, cid = {"id": request["id"]}, {"id": customer["id"]}
    a_owner = await User.get(email=a.owner_email)
    a_session = await Session.filter(user_id=a_owner.id).first()
    uid = {"id": to_global_id("User", a_owner.id)}

    probes = {
        "customer": ("query($id: ID!) { customer(id: $id) { name } }", {"id": customer["id"]}, lambda d: d["customer"] is None),
        "serviceRecord": ("query($id: ID!) { serviceRecord(id: $id) { serviceName } }", {"id": record["id"]},
                          lambda d: d["serviceRecord"] is None),
        "customers": ('{ customers(filter: {search: "Secret"}) { totalCount edges { node { id } } } }', {},
                      lambda d: d["customers"]["totalCount"] == 0),
        "serviceRecords": ("query($id: ID!) { serviceRecords(filter: {customerId: $id}) { totalCount } }", {"id": customer["id"]},
                           lambda d: d["serviceRecords"]["totalCount"] == 0),
        "customerUpdate": ('mutation($id: ID!) { customerUpdate(id: $id, input: {name: "pwned"}) { customer { id } errors { code } } }',
                           {"id": customer["id"]}, lambda d: d["customerUpdate"]["errors"][0]["code"] == "NOT_FOUND"),
        "customerDelete": ("mutation($id: ID!) { customerDelete(id: $id) { customer { id } errors { code } } }",
                           {"id": customer["id"]}, lambda d: d["customerDelete"]["errors"][0]["code"] == "NOT_FOUND"),
        "customerRestore": ("mutation($id: ID!) { customerRestore(id: $id) { customer { id } errors { code } } }",
                            {"id": customer["id"]}, lambda d: d["customerRestore"]["errors"][0]["code"] == "NOT_FOUND"),
        "serviceRecordCreate": ('mutation($id: ID!) { serviceRecordCreate(input: {customerId: $id, serviceName: "x"}) '
                                '{ serviceRecord { id } errors { code } } }',
                                {"id": customer["id"]}, lambda d: d["serviceRecordCreate"]["errors"][0]["code"] == "NOT_FOUND"),
        "serviceRecordUpdate": ('mutation($id: ID!) { serviceRecordUpdate(id: $id, input: {notes: "x"}) '
                                '{ serviceRecord { id } errors { code } } }',
                                {"id": record["id"]}, lambda d: d["serviceRecordUpdate"]["errors"][0]["code"] == "NOT_FOUND"),
        "messages": ("query($id: ID!) { all: messages { totalCount } mine: messages(customer: $id) { totalCount edges { node { id } } } }",
                     {"id": customer["id"]}, lambda d: d["all"]["totalCount"] == 0 and d["mine"]["totalCount"] == 0),
        "messageSend": ('mutation($id: ID!) { messageSend(customer: $id, template: "document_ready", '
                        'variables: {service: "x", centre: "y"}) { message { id } errors { code field } } }',
                        {"id": customer["id"]}, lambda d: d["messageSend"]["errors"][0]["code"] == "NOT_FOUND"),
        "apiKeyRevoke": ("mutation($id: ID!) { apiKeyRevoke(id: $id) { apiKey { id } errors { code } } }",
                         {"id": key["id"]}, lambda d: d["apiKeyRevoke"]["errors"][0]["code"] == "NOT_FOUND"),
        "plugins": ("{ plugins { id enabledForTenant settings { name isSet value } } }", {},
                    lambda d: all(not any(s["isSet"] for s in p["settings"]) and "1234567890" not in str(p)
                                  for p in d["plugins"])
                    and not next(p for p in d["plugins"] if p["id"] == "whatsapp")["enabledForTenant"]),
        # billing
        "plans": ("{ plans { totalCount } }", {}, lambda d: d["plans"]["totalCount"] == 0),
        "subscription": ("query($id: ID!) { subscription(id: $id) { status } }", {"id": sub["id"]}, lambda d: d["subscription"] is None),
        "subscriptions": ("query($c: ID!, $p: ID!) { all: subscriptions { totalCount } c: subscriptions(filter: {customerId: $c}) "
                          "{ totalCount } p: subscriptions(filter: {planId: $p}) { totalCount } }", {"c": customer["id"], "p": plan["id"]},
                          lambda d: d["all"]["totalCount"] == d["c"]["totalCount"] == d["p"]["totalCount"] == 0),
        "invoice": ("query($id: ID!) { invoice(id: $id) { number html } }", {"id": invoice["id"]}, lambda d: d["invoice"] is None),
        "invoices": ("query($c: ID!, $s: ID!) { all: invoices { totalCount } c: invoices(filter: {customerId: $c}) { totalCount }"
                     " s: invoices(filter: {subscriptionId: $s}) { totalCount } }", {"c": customer["id"], "s": sub["id"]},
                     lambda d: d["all"]["totalCount"] == d["c"]["totalCount"] == d["s"]["totalCount"] == 0),
        "payments": ("query($i: ID!) { all: payments { totalCount } i: payments(filter: {invoiceId: $i}) { totalCount } }",
                     {"i": invoice["id"]}, lambda d: d["all"]["totalCount"] == d["i"]["totalCount"] == 0),
        "billingSummary": ("{ billingSummary { duesOutstanding collectedThisMonth mrr activeSubscriptions } }", {},
                           lambda d: d["billingSummary"] == {"duesOutstanding": "0", "collectedThisMonth": "0", "mrr": "0",
                                                             "activeSubscriptions": 0}),
        "subscriptionCreate": ("mutation($c: ID!, $p: ID!) { subscriptionCreate(input: {customerId: $c, planId: $p}) "
                               "{ subscription { id } errors { field code } } }",
                               {"c": customer["id"], "p": plan["id"]},
                               lambda d: {(e["field"], e["code"]) for e in d["subscriptionCreate"]["errors"]}
                               == {("customerId", "NOT_FOUND"), ("planId", "NOT_FOUND")}),
        **{name: (f"mutation($id: ID!) {{ {name}(id: $id) {{ subscription {{ id }} errors {{ code }} }} }}", {"id": sub["id"]},
                  lambda d, name=name: d[name]["errors"][0]["code"] == "NOT_FOUND")
           for name in ("subscriptionCancel", "subscriptionPause", "subscriptionResume")},
        "invoiceCreate": ('mutation($c: ID!) { invoiceCreate(input: {customerId: $c, lines: [{description: "x", unitAmount: 100}]}) '
                          '{ invoice { id } errors { field code } } }',
                          {"c": customer["id"]}, lambda d: d["invoiceCreate"]["errors"] == [{"field": "customerId", "code": "NOT_FOUND"}]),
        "invoiceSend": ("mutation($id: ID!) { invoiceSend(id: $id) { errors { code } } }", {"id": invoice["id"]},
                        lambda d: d["invoiceSend"]["errors"][0]["code"] == "NOT_FOUND"),
        "invoiceVoid": ("mutation($id: ID!) { invoiceVoid(id: $id) { invoice { id } errors { code } } }", {"id": invoice["id"]},
                        lambda d: d["invoiceVoid"]["errors"][0]["code"] == "NOT_FOUND"),
        "invoiceWriteOff": ("mutation($id: ID!) { invoiceWriteOff(id: $id) { invoice { id } errors { code } } }", {"id": invoice["id"]},
                            not_found("invoiceWriteOff")),
        "planUpdate": ("mutation($id: ID!) { planUpdate(id: $id, input: {amount: 1}) { plan { id } errors { code } } }", {"id": plan["id"]},
                       not_found("planUpdate")),
        "subscriptionChangePlan": ("mutation($id: ID!, $p: ID!) { subscriptionChangePlan(id: $id, planId: $p) { subscription { id } "
                                   "errors { code } } }", {"id": sub["id"], "p": plan["id"]}, not_found("subscriptionChangePlan")),
        "customerTaxSet": ('mutation($id: ID!) { customerTaxSet(customer: $id, taxId: "27AAPFU0939F1ZV") { taxId errors { code } } }',
                           cid, not_found("customerTaxSet")),
        "credits": ("query($id: ID!) { credits(customer: $id) { totalCount } all: credits { totalCount } }", cid,
                    lambda d: d["credits"]["totalCount"] == 0 == d["all"]["totalCount"]),
        "paymentRecord": ("mutation($i: ID!) { paymentRecord(input: {invoiceId: $i, amount: 100}) { payment { id } errors { code } } }",
                          {"i": invoice["id"]}, lambda d: d["paymentRecord"]["errors"][0]["code"] == "NOT_FOUND"),
        "paymentRefund": ("mutation($p: ID!) { paymentRefund(input: {paymentId: $p, amount: 100}) { refund { id } errors { code } } }",
                          {"p": payment["id"]}, lambda d: d["paymentRefund"]["errors"][0]["code"] == "NOT_FOUND"),
        "razorpayOrderCreate": ("mutation($i: ID!) { razorpayOrderCreate(invoiceId: $i) { orderId errors { code } } }",
                                {"i": invoice["id"]}, lambda d: d["razorpayOrderCreate"]["errors"][0]["code"] == "NOT_FOUND"),
        "paymentLinkCreate": ("mutation($i: ID!) { paymentLinkCreate(invoiceId: $i) { paymentLink { id } errors { code } } }",
                              {"i": invoice["id"]}, lambda d: d["paymentLinkCreate"]["errors"][0]["code"] == "NOT_FOUND"),
        "gatewayReviews": ("{ gatewayReviews(resolved: null) { id } }", {}, lambda d: d["gatewayReviews"] == []),
        "gatewayReviewResolve": ("mutation($id: ID!) { gatewayReviewResolve(id: $id, resolution: DISMISSED) { review { id } "
                                 "errors { code } } }", {"id": to_global_id("GatewayReview", held.id)},
                                 not_found("gatewayReviewResolve")),
    }
    probes |= {
        "privacyRequest": ("query($id: ID!) { privacyRequest(id: $id) { id } }", rid, lambda d: d["privacyRequest"] is None),
        "privacyRequests": ("query($id: ID!) { privacyRequests(filter: {customerId: $id}) { totalCount } "
                            "all: privacyRequests { totalCount } }",
                            cid, lambda d: d["privacyRequests"]["totalCount"] == 0 == d["all"]["totalCount"]),
        "consents": ("query($id: ID!) { consents(customerId: $id) { totalCount } }", cid, lambda d: d["consents"]["totalCount"] == 0),
        "consentGiven": ('query($id: ID!) { consentGiven(customerId: $id, purpose: "marketing") }', cid,
                         lambda d: d["consentGiven"] is False),
        "consentNotices": ("{ consentNotices { totalCount } }", {}, lambda d: d["consentNotices"]["totalCount"] == 0),
        "breaches": ("{ breaches { totalCount } }", {}, lambda d: d["breaches"]["totalCount"] == 0),
        "privacyRequestCreate": ("mutation($id: ID!) { privacyRequestCreate(input: {customerId: $id, type: ERASURE}) { errors { code } } }",
                                 cid, not_found("privacyRequestCreate")),
        "privacyRequestSendCode": ("mutation($id: ID!) { privacyRequestSendCode(id: $id, channel: \"sms\") { errors { code } } }",
                                   rid, not_found("privacyRequestSendCode")),
        "privacyRequestVerify": ('mutation($id: ID!) { privacyRequestVerify(id: $id, inPersonReason: "x") { errors { code } } }',
                                 rid, not_found("privacyRequestVerify")),
        "privacyRequestApprove": ("mutation($id: ID!) { privacyRequestApprove(id: $id) { errors { code } } }", rid,
                                  not_found("privacyRequestApprove")),
        "privacyRequestReject": ('mutation($id: ID!) { privacyRequestReject(id: $id, reason: "x") { errors { code } } }', rid,
                                 not_found("privacyRequestReject")),
        "privacyRequestComplete": ('mutation($id: ID!) { privacyRequestComplete(id: $id, input: {response: "x"}) { errors { code } } }',
                                   rid, not_found("privacyRequestComplete")),
        "consentGrant": ('mutation($id: ID!) { consentGrant(input: {customerId: $id, purpose: "marketing"}) { errors { code } } }',
                         cid, not_found("consentGrant")),
        "consentWithdraw": ('mutation($id: ID!) { consentWithdraw(input: {customerId: $id, purpose: "marketing"}) { errors { code } } }',
                            cid, not_found("consentWithdraw")),
        "messageTemplates": ("{ messageTemplates { key builtIn texts { text } } }", {},
                             lambda d: "secret_key" not in {t["key"] for t in d["messageTemplates"]}
                             and all(t["builtIn"] for t in d["messageTemplates"])),
        # B writing the same key makes B's own row; A's is untouched (checked below)
        "messageTemplateUpsert": (TEMPLATE_UPSERT, {"input": {"key": "secret_key", "purpose": "SERVICE",
                                                              "texts": [{"language": "en", "text": "pwned {name}"}]}},
                                  lambda d: d["messageTemplateUpsert"]["errors"] == []),
        "breachNotificationRecord": ('mutation($id: ID!) { breachNotificationRecord(id: $id, key: "in.persons") { errors { code } } }',
                                     {"id": breach["id"]}, not_found("breachNotificationRecord")),
    }
    probes |= {  # staff accounts and sessions
        "userDeactivate": ("mutation($id: ID!) { userDeactivate(id: $id) { user { id } errors { code } } }", uid,
                           not_found("userDeactivate")),
        "userReactivate": ("mutation($id: ID!) { userReactivate(id: $id) { user { id } errors { code } } }", uid,
                           not_found("userReactivate")),
        "userRoleChange": ("mutation($id: ID!) { userRoleChange(id: $id, role: VIEWER) { user { id } errors { code } } }", uid,
                           not_found("userRoleChange")),
        "sessions": ("query($id: ID!) { sessions(userId: $id, includeEnded: true) { totalCount edges { node { id } } } }", uid,
                     lambda d: d["sessions"]["totalCount"] == 0 and d["sessions"]["edges"] == []),
        "sessionRevoke": ("mutation($id: ID!) { sessionRevoke(id: $id) { session { id } errors { code } } }",
                          {"id": to_global_id("Session", a_session.id)}, not_found("sessionRevoke")),
        "sessionRevokeAll": ("mutation($id: ID!) { sessionRevokeAll(userId: $id) { count errors { code } } }", uid,
                             not_found("sessionRevokeAll")),
    }
    hook = await WebhookEndpoint.create(tenant_id=a.id, url="https://erp.example.com/hook", secret="x")
    delivery = await WebhookDelivery.create(tenant_id=a.id, endpoint_id=hook.id, event_id="msg_1", event_type="customer.created",
                                            payload={}, status="failed")
    hook_id, delivery_id = to_global_id("WebhookEndpoint", hook.id), to_global_id("WebhookDelivery", delivery.id)
    probes |= {  # events out: A's webhook endpoints and deliveries
        "webhookEndpointUpdate": ('mutation($id: ID!) { webhookEndpointUpdate(id: $id, input: {enabled: false}) '
                                  '{ endpoint { id } errors { code } } }', {"id": hook_id},
                                  lambda d: d["webhookEndpointUpdate"]["errors"][0]["code"] == "NOT_FOUND"),
        "webhookEndpointRotateSecret": ("mutation($id: ID!) { webhookEndpointRotateSecret(id: $id) { secret errors { code } } }",
                                        {"id": hook_id},
                                        lambda d: d["webhookEndpointRotateSecret"]["errors"][0]["code"] == "NOT_FOUND"),
        "webhookEndpointDelete": ("mutation($id: ID!) { webhookEndpointDelete(id: $id) { deletedId errors { code } } }",
                                  {"id": hook_id}, lambda d: d["webhookEndpointDelete"]["errors"][0]["code"] == "NOT_FOUND"),
        "webhookDeliveryRedeliver": ("mutation($id: ID!) { webhookDeliveryRedeliver(id: $id) { delivery { id } errors { code } } }",
                                     {"id": delivery_id},
                                     lambda d: d["webhookDeliveryRedeliver"]["errors"][0]["code"] == "NOT_FOUND"),
    }
    # the CRM: A's ticket, incident, lead, note and conversation (core.crm, core.messaging.conversations)
    a_customer = from_global_id(customer["id"], "Customer")
    ticket = await crm_tickets.create_ticket(a.scope, a_customer, {"subject": "Secret ticket"})
    lead = await crm_leads.create_lead(a.scope, {"name": "Secret Lead", "value_amount": 500})
    note = await crm_notes.add_note(a.scope, None, a_customer, "Secret note")
    await a.api.ok("mutation($id: ID!) { conversationMarkRead(customerId: $id) { errors { code } } }", id=customer["id"])
    tid, lid = {"id": to_global_id("Ticket", ticket.id)}, {"id": to_global_id("Lead", lead.id)}
    probes |= {
        "customerSearch": ('{ a: customerSearch(text: "Secret Customer") { score } b: customerSearch(text: "98765 12345") { score } }',
                           {}, lambda d: d["a"] == [] == d["b"]),
        "customerHouseholdJoin": ("mutation($id: ID!) { customerHouseholdJoin(id: $id, contactId: $id) { errors { code } } }", cid,
                                  not_found("customerHouseholdJoin")),
        "customerHouseholdLeave": ("mutation($id: ID!) { customerHouseholdLeave(id: $id) { errors { code } } }", cid,
                                   not_found("customerHouseholdLeave")),
        "ticket": ("query($id: ID!) { ticket(id: $id) { subject } }", tid, lambda d: d["ticket"] is None),
        "tickets": ("query($c: ID!) { all: tickets { totalCount } c: tickets(filter: {customerId: $c}) { totalCount } }",
                    {"c": customer["id"]}, lambda d: d["all"]["totalCount"] == 0 == d["c"]["totalCount"]),
        "ticketCreate": ('mutation($id: ID!) { ticketCreate(input: {customerId: $id, subject: "x"}) { errors { code } } }', cid,
                         not_found("ticketCreate")),
        "incidentCreate": ('mutation($id: ID!) { incidentCreate(input: {customerIds: [$id], subject: "x"}) { errors { code } } }', cid,
                           not_found("incidentCreate")),
        "ticketUpdate": ("mutation($id: ID!) { ticketUpdate(id: $id, input: {status: CLOSED}) { errors { code } } }", tid,
                         not_found("ticketUpdate")),
        "ticketComment": ('mutation($id: ID!) { ticketComment(ticketId: $id, body: "x", internal: false) { errors { code } } }', tid,
                          not_found("ticketComment")),
        "conversation": ("query($id: ID!) { conversation(customerId: $id) { id } }", cid, lambda d: d["conversation"] is None),
        "conversations": ("{ conversations { totalCount } }", {}, lambda d: d["conversations"]["totalCount"] == 0),
        "myUnreadCount": ("{ myUnreadCount }", {}, lambda d: d["myUnreadCount"] == 0),
        "conversationMarkRead": ("mutation($id: ID!) { conversationMarkRead(customerId: $id) { errors { code } } }", cid,
                                 not_found("conversationMarkRead")),
        "conversationAssign": ("mutation($id: ID!) { conversationAssign(customerId: $id, assigneeId: null) { errors { code } } }", cid,
                               not_found("conversationAssign")),
        "conversationReply": ('mutation($id: ID!) { conversationReply(customerId: $id, text: "x") { errors { code } } }', cid,
                              not_found("conversationReply")),
        "customerTimeline": ("query($id: ID!) { customerTimeline(customerId: $id) { edges { cursor } } }", cid,
                             lambda d: d["customerTimeline"] is None),
        "customerNoteAdd": ('mutation($id: ID!) { customerNoteAdd(customerId: $id, body: "x") { errors { code } } }', cid,
                            not_found("customerNoteAdd")),
        "customerNoteEdit": ('mutation($id: ID!) { customerNoteEdit(id: $id, body: "pwned") { errors { code } } }',
                             {"id": to_global_id("CustomerNote", note.id)}, not_found("customerNoteEdit")),
        "lead": ("query($id: ID!) { lead(id: $id) { name } }", lid, lambda d: d["lead"] is None),
        "leads": ("{ leads { totalCount } }", {}, lambda d: d["leads"]["totalCount"] == 0),
        "pipelineSummary": ("{ pipelineSummary { count } }", {}, lambda d: all(s["count"] == 0 for s in d["pipelineSummary"])),
        "leadUpdate": ('mutation($id: ID!) { leadUpdate(id: $id, input: {name: "pwned"}) { errors { code } } }', lid,
                       not_found("leadUpdate")),
        "leadConvert": ("mutation($id: ID!) { leadConvert(id: $id) { errors { code } } }", lid, not_found("leadConvert")),
    }
    probes |= {  # the audit log, sign-in history and identifiers
        "auditEvents": ("query($id: ID!) { auditEvents(filter: {subjectId: $id}) { totalCount } }", cid,
                        lambda d: d["auditEvents"]["totalCount"] == 0),
        "auditEventsCsv": ("query($id: ID!) { auditEventsCsv(filter: {subjectId: $id}) }", cid,
                           lambda d: d["auditEventsCsv"].count("\n") == 1),  # the header only
        "loginHistory": ("query($id: ID!) { loginHistory(userId: $id) { totalCount } }", uid,
                         lambda d: d["loginHistory"]["totalCount"] == 0),
        "customerIdentifiers": ("query($id: ID!) { customerIdentifiers(customerId: $id) { id } }", cid,
                                lambda d: d["customerIdentifiers"] == []),
        "customerIdentifierSet": ('mutation($id: ID!) { customerIdentifierSet(customerId: $id, kind: "pan", value: "ZZZZZ9999Z") '
                                  '{ errors { code } } }', cid, not_found("customerIdentifierSet")),
        "customerIdentifierReveal": ("mutation($id: ID!) { customerIdentifierReveal(id: $id) { value errors { code } } }",
                                     {"id": identifier["id"]}, not_found("customerIdentifierReveal")),
    }
    for name, (query, variables, hidden) in probes.items():
        data = await b.api.ok(query, **variables)
        assert hidden(data), (name, data)
    b_channels = (await b.api.ok("{ notificationChannels { available { id } order } }"))["notificationChannels"]
    assert b_channels["available"] == []  # A enabled WhatsApp; B did not
    b_order = (await b.api.ok('mutation { channelOrderUpdate(channels: ["whatsapp"]) { errors { field code } } }'))
    assert b_order["channelOrderUpdate"]["errors"] == [{"field": "channels", "code": "INVALID"}]
    assert (await Tenant.get(id=a.id)).channel_fallback == ["whatsapp", "sms", "email"]
    changed = await b.api.ok('mutation { pluginSettingsUpdate(plugin: "whatsapp", enabled: false, settings: {phoneNumberId: "999", '
                             'accessToken: "b-token", appSecret: "b", verifyToken: "b"}) { errors { field } } }')
    assert changed["pluginSettingsUpdate"]["errors"] == []
    owner_now = await User.get(id=a_owner.id)
    assert (owner_now.is_active, owner_now.role) == (True, a_owner.role)
    assert (await Session.get(id=a_session.id)).revoked_at is None
    assert (await a.api.ok("{ me { email } }"))["me"]["email"] == a.owner_email  # A's owner still signed in

    schema = build_schema()
    root_fields = {f.name for t in (schema.query, schema.mutation) for f in t.__strawberry_definition__.fields}
    root_fields = {build_schema().config.name_converter.apply_naming_config(f) for f in root_fields}
    assert root_fields - NOT_ADDRESSED - probes.keys() == set(), "new root field: add an isolation probe"

    after = (await Customer.get(tenant_id=a.id)).__dict__
    assert {k: v for k, v in after.items() if not k.startswith("_")} == {k: v for k, v in before.items() if not k.startswith("_")}
    assert await ServiceRecord.filter(tenant_id=a.id).count() == 1
    assert (await GatewayReview.get(id=held.id)).resolved_at is None
    assert await ServiceRecord.filter(tenant_id=b.id).count() == 0
    assert (await ApiKey.get(tenant_id=a.id)).revoked_at is None
    a_template_after = (await MessageTemplate.get(tenant_id=a.id, key="secret_key")).__dict__
    assert ({k: v for k, v in a_template_after.items() if not k.startswith("_")}
            == {k: v for k, v in a_template.items() if not k.startswith("_")})
    assert a_template_after["texts"] == {"en": secret_text}
    a_after = (await PluginSettings.get(tenant_id=a.id, plugin_id="whatsapp")).__dict__
    assert {k: v for k, v in a_after.items() if not k.startswith("_")} == {k: v for k, v in a_settings.items() if not k.startswith("_")}
    assert {m.__name__: sorted(map(str, await m.filter(tenant_id=a.id).values_list("updated_at", flat=True)))
            for m in (Plan, Subscription, Invoice, Payment)} == billing_before
    assert [await m.filter(tenant_id=b.id).count() for m in (Plan, Subscription, Invoice, Payment)] == [0, 0, 0, 0]
    assert (await PrivacyRequest.get(tenant_id=a.id)).status == "received"
    assert await Consent.filter(tenant_id=a.id).count() == 1 and await Consent.filter(tenant_id=b.id).count() == 0
    assert all(o["done_at"] is None for o in (await BreachIncident.get(tenant_id=a.id)).obligations)
    assert await Message.filter(tenant_id=a.id, user_id__isnull=True).count() == 1  # (and the breach alert to its owner)
    assert await Message.filter(tenant_id=b.id).count() == 0


async def test_lists_show_only_the_callers_tenant(make_tenant):
    a, b = await make_tenant(), await make_tenant()
    await create(a.api, name="Only In A", phone="9876512346")
    await create(b.api, name="Only In B", phone="9876512346")
    for fixture, name in ((a, "Only In A"), (b, "Only In B")):
        data = await fixture.api.ok("{ customers { edges { node { name } } } users { edges { node { email } } } }")
        assert [e["node"]["name"] for e in data["customers"]["edges"]] == [name]
        assert [e["node"]["email"] for e in data["users"]["edges"]] == [fixture.owner_email]
