"""GraphQL enums, one per core vocabulary (values are the member names: WHATSAPP, IN_PROGRESS)."""

from enum import Enum

import strawberry

from seva_crm.core.common import enums
from seva_crm.core.platform.channels import Purpose

Region = strawberry.enum(enums.Region)
Currency = strawberry.enum(enums.Currency)
Role = strawberry.enum(enums.Role)
Language = strawberry.enum(enums.Language)
ServiceStatus = strawberry.enum(enums.ServiceStatus)
TenantStatus = strawberry.enum(enums.TenantStatus)
SessionEndReason = strawberry.enum(enums.SessionEndReason, description="Why a sign-in session ended.")


@strawberry.enum(description="Sort order of a customer list.")
class CustomerOrder(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"


@strawberry.enum(description="Sort order of a service record list.")
class ServiceRecordOrder(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"


BillingInterval = strawberry.enum(enums.BillingInterval)
SubscriptionStatus = strawberry.enum(enums.SubscriptionStatus)
InvoiceStatus = strawberry.enum(enums.InvoiceStatus)
PaymentMethod = strawberry.enum(enums.PaymentMethod)
PaymentStatus = strawberry.enum(enums.PaymentStatus)
RefundStatus = strawberry.enum(enums.RefundStatus)


@strawberry.enum(description="Sort order of a plan list.")
class PlanOrder(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    NAME_ASC = "NAME_ASC"


@strawberry.enum(description="Sort order of a subscription list.")
class SubscriptionOrder(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"


@strawberry.enum(description="Sort order of an invoice list.")
class InvoiceOrder(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    DUE_ON_ASC = "DUE_ON_ASC"
    DUE_ON_DESC = "DUE_ON_DESC"


@strawberry.enum(description="Sort order of a payment list.")
class PaymentOrder(Enum):
    RECEIVED_AT_DESC = "RECEIVED_AT_DESC"
    CREATED_AT_DESC = "CREATED_AT_DESC"


MessageStatus = strawberry.enum(enums.MessageStatus, description="Forward-only: QUEUED -> SENDING -> SENT -> DELIVERED -> READ, or FAILED.")
MessagePurpose = strawberry.enum(Purpose, name="MessagePurpose",
                                 description="SERVICE (bills, receipts, reminders asked for) needs no consent; MARKETING does.")


@strawberry.enum(description="Sort order of a message list.")
class MessageOrder(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
