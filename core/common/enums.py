"""Closed vocabularies shared by the domain, the API and the CLI."""

from enum import StrEnum


class Region(StrEnum):
    IN = "IN"
    BD = "BD"


class Currency(StrEnum):
    INR = "INR"
    BDT = "BDT"


REGION_CURRENCY = {Region.IN: Currency.INR, Region.BD: Currency.BDT}


class TenantStatus(StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"


class Role(StrEnum):
    """Staff roles, weakest first. ``Role.rank`` orders them for permission checks."""

    VIEWER = "viewer"
    AGENT = "agent"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]


_ROLE_RANK = {Role.VIEWER: 0, Role.AGENT: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Language(StrEnum):
    EN = "en"
    HI = "hi"
    BN = "bn"


class ServiceStatus(StrEnum):
    REQUESTED = "requested"
    IN_PROGRESS = "in_progress"
    READY = "ready"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class VerificationPurpose(StrEnum):
    """What a staff member's one-time code proves: an email address, a phone number, or (sent to
    the verified email or phone) the right to set a new password."""

    EMAIL = "email"
    PHONE = "phone"
    PASSWORD_RESET = "password_reset"


class SessionEndReason(StrEnum):
    """Why a sign-in session ended (``Session.revoked_reason``)."""

    LOGOUT = "logout"
    REVOKED = "revoked"  # by the user or an admin
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"  # a rotated refresh token was presented again
    USER_DEACTIVATED = "user_deactivated"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"


class MessageStatus(StrEnum):
    """Forward-only: queued -> sending -> sent -> delivered -> read, or -> failed."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class BillingInterval(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    ONE_TIME = "one_time"


class SubscriptionStatus(StrEnum):
    """See core.billing.subscriptions.TRANSITIONS for the moves between them."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"
    REFUNDED = "refunded"  # money was given back: nothing is owed, no reminder is sent


class PaymentMethod(StrEnum):
    CASH = "cash"
    UPI = "upi"
    BANK = "bank"
    CARD = "card"
    GATEWAY = "gateway"  # taken online by a payment gateway plugin (provider says which)
    OTHER = "other"


class PaymentStatus(StrEnum):
    """Only captured payments count towards an invoice. Forward-only: failed -> captured is allowed
    (a late capture), captured never goes back."""

    CAPTURED = "captured"
    FAILED = "failed"


class RefundStatus(StrEnum):
    """pending and processed refunds count against a payment; failed ones do not."""

    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class LatePaymentAction(StrEnum):
    """What becomes of a gateway payment that arrives for a void invoice (billing settings)."""

    CREDIT = "credit"  # kept as the customer's credit
    REFUND = "refund"  # refunded at the gateway at once


class ReminderKind(StrEnum):
    DUE_SOON = "due_soon"  # N days before the due date (for a renewal: before the renewal date)
    OVERDUE = "overdue"  # the day after the due date, once


class RequestType(StrEnum):
    """What a data subject asks of the tenant (DPDP ss.11-14, Bangladesh ss.11-13)."""

    ACCESS = "access"
    CORRECTION = "correction"
    ERASURE = "erasure"
    PORTABILITY = "portability"
    CONSENT_WITHDRAWAL = "consent_withdrawal"
    GRIEVANCE = "grievance"
    NOMINATION = "nomination"
    OBJECTION = "objection"  # to a processing (Bangladesh s.13): staff stop it and answer


class RequestStatus(StrEnum):
    """received -> identity_verified -> in_progress -> completed | completed_with_retention |
    rejected | failed (resumable). A request can be rejected at any step before it ends."""

    RECEIVED = "received"
    IDENTITY_VERIFIED = "identity_verified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    COMPLETED_WITH_RETENTION = "completed_with_retention"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def is_closed(self) -> bool:
        return self in (RequestStatus.COMPLETED, RequestStatus.COMPLETED_WITH_RETENTION, RequestStatus.REJECTED)


class ConsentSource(StrEnum):
    """How a consent entry came about (the evidence the fiduciary keeps, DPDP s.6(10))."""

    STAFF = "staff"
    CUSTOMER_LINK = "customer_link"
    STOP_REPLY = "stop_reply"
    UNSUBSCRIBE = "unsubscribe"
    IMPORT = "import"
    PRIVACY_REQUEST = "privacy_request"
    PROVIDER = "provider"  # the channel's provider told us (WhatsApp user_preferences, error 131050)


class GatewayReviewKind(StrEnum):
    """Why a payment a gateway reports was held for staff instead of recorded on its invoice."""

    AMOUNT_MISMATCH = "amount_mismatch"  # not the amount due on the invoice
    CURRENCY_MISMATCH = "currency_mismatch"  # not the invoice's currency
    OVERPAYMENT = "overpayment"  # the invoice had nothing left to pay (paid by other means)
    RISK_HOLD = "risk_hold"  # the gateway marked it risky


class GatewayReviewResolution(StrEnum):
    ACCEPTED = "accepted"  # recorded on the invoice after all
    REFUNDED = "refunded"  # given back through the gateway
    DISMISSED = "dismissed"  # settled outside Seva (noted by staff)
class TicketPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"  # on the customer
    RESOLVED = "resolved"
    CLOSED = "closed"
