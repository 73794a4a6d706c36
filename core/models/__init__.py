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
from seva_crm.core.models.customers import Customer, CustomerTag, ServiceRecord
from seva_crm.core.models.messaging import Consent, InboundMessage, Message, MessageTemplate
from seva_crm.core.models.privacy import BreachIncident, ConsentNotice, PrivacyProfile, PrivacyRequest, RateLimit
from seva_crm.core.models.platform import PluginSettings, SchedulerLease
from seva_crm.core.models.profile import TenantProfile
from seva_crm.core.models.tenancy import ApiKey, RefreshToken, Session, Tenant, User, VerificationCode

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
    "Credit",
    "CustomerTax",
    "GatewayEvent",
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
    "Session",
    "Subscription",
    "Tenant",
    "TenantProfile",
    "User",
    "VerificationCode",
]
