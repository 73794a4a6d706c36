"""Tortoise models. Every row of tenant data carries ``tenant_id``; services scope every query by it."""

from seva_crm.core.models.audit import AuditEvent, AuditHead
from seva_crm.core.models.billing import (
    BillingReminder,
    BillingSettings,
    Credit,
    CustomerTax,
    GatewayEvent,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
    PaymentLink,
    Plan,
    Refund,
    Subscription,
)
from seva_crm.core.models.gateway_reviews import GatewayReview
from seva_crm.core.models.customers import Customer, CustomerIdentifier, CustomerTag, ServiceRecord
from seva_crm.core.models.events import Change, ChangeCounter, WebhookDelivery, WebhookEndpoint
from seva_crm.core.models.crm import Conversation, CrmSettings, CustomerNote, Lead, StatusRule, Ticket, TicketComment
from seva_crm.core.models.messaging import Consent, InboundMessage, Message, MessageTemplate
from seva_crm.core.models.privacy import BreachIncident, ConsentNotice, PrivacyProfile, PrivacyRequest, RateLimit
from seva_crm.core.models.privacy import Disclosure
from seva_crm.core.models.platform import PluginSettings, SchedulerLease
from seva_crm.core.models.profile import TenantProfile
from seva_crm.core.models.tenancy import ApiKey, Invitation, RefreshToken, Session, Tenant, User, VerificationCode

__all__ = [
    "AuditEvent",
    "AuditHead",
    "ApiKey",
    "BillingReminder",
    "BillingSettings",
    "BreachIncident",
    "Consent",
    "ConsentNotice",
    "Customer",
    "CustomerTag",
    "CustomerIdentifier",
    "Disclosure",
    "Credit",
    "CustomerTax",
    "GatewayEvent",
    "GatewayReview",
    "InboundMessage",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLine",
    "Message",
    "MessageTemplate",
    "Payment",
    "PaymentLink",
    "Plan",
    "PluginSettings",
    "PrivacyProfile",
    "PrivacyRequest",
    "RateLimit",
    "RefreshToken",
    "Refund",
    "SchedulerLease",
    "ServiceRecord",
    "Invitation",
    "Session",
    "Subscription",
    "Tenant",
    "TenantProfile",
    "User",
    "VerificationCode",
    "Change",
    "ChangeCounter",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Conversation",
    "CrmSettings",
    "CustomerNote",
    "Lead",
    "StatusRule",
    "Ticket",
    "TicketComment",
]
