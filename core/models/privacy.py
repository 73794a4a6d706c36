"""The privacy engine's records: tenant privacy profile, consent notices, privacy requests,
breach incidents, and the hits that rate-limit the public endpoints."""

from tortoise import fields
from tortoise.models import Model

from seva_crm.core.models.base import TenantModel


class PrivacyProfile(TenantModel):
    """A tenant's privacy set-up: the other regions whose law it also answers to, the contact
    named in every reply (DPDP Rule 9), and the consent purposes it defines itself."""

    also_answers_to = fields.JSONField(default=list)  # region codes besides the tenant's own
    contact_name = fields.CharField(max_length=200, default="")
    contact_email = fields.CharField(max_length=254, default="")
    contact_phone = fields.CharField(max_length=20, default="")
    custom_purposes = fields.JSONField(default=list)

    class Meta:
        table = "privacy_profile"
        unique_together = (("tenant_id",),)


class ConsentNotice(TenantModel):
    """One published version of a tenant's consent notice in one language. Never changed:
    a new text is a new version."""

    version = fields.IntField()
    language = fields.CharField(max_length=8)
    personal_data = fields.JSONField(default=list)  # itemised personal data collected
    purposes = fields.JSONField(default=list)  # specified purposes
    goods_services = fields.TextField(default="")
    withdraw_link = fields.CharField(max_length=500, default="")
    rights_link = fields.CharField(max_length=500, default="")
    complaint_link = fields.CharField(max_length=500, default="")
    contact = fields.TextField(default="")
    body = fields.TextField(default="")
    published_by = fields.UUIDField(null=True)

    class Meta:
        table = "consent_notice"
        unique_together = (("tenant_id", "language", "version"),)


class PrivacyRequest(TenantModel):
    """A data subject's request and where it stands. The runner stores its current step, so a
    failed request resumes from the step that failed."""

    customer = fields.ForeignKeyField("models.Customer", related_name=False, null=True, on_delete=fields.SET_NULL)
    kind = fields.CharField(max_length=24)  # core.enums.RequestType
    status = fields.CharField(max_length=32)  # core.enums.RequestStatus
    filed_via = fields.CharField(max_length=16, default="staff")  # staff, public
    reference_hash = fields.CharField(max_length=64, null=True, unique=True)  # public reference, keyed digest
    details = fields.TextField(default="")  # the subject's words, removed when their data is erased
    changes = fields.JSONField(default=dict)  # correction: field -> requested value, until decided
    received_at = fields.DatetimeField()
    due_at = fields.DatetimeField()
    due_citation = fields.CharField(max_length=300, default="")
    queue_key = fields.CharField(max_length=48)  # open requests first, earliest due first
    verification_method = fields.CharField(max_length=16, default="")  # otp, in_person
    verification_note = fields.TextField(default="")
    verified_at = fields.DatetimeField(null=True)
    verified_by = fields.UUIDField(null=True)
    code_hash = fields.CharField(max_length=64, default="")
    code_channel = fields.CharField(max_length=32, default="")  # a channel kind or id
    code_expires_at = fields.DatetimeField(null=True)
    code_attempts = fields.IntField(default=0)
    step = fields.CharField(max_length=32, default="")
    steps_done = fields.JSONField(default=list)
    failure = fields.CharField(max_length=300, default="")
    result = fields.JSONField(default=dict)
    response = fields.TextField(default="")
    rejection_reason = fields.TextField(default="")
    export_path = fields.CharField(max_length=500, default="")
    export_expires_at = fields.DatetimeField(null=True)
    escalated_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    created_by = fields.UUIDField(null=True)

    class Meta:
        table = "privacy_request"
        indexes = (
            ("tenant_id", "queue_key", "id"),
            ("tenant_id", "created_at", "id"),
            ("tenant_id", "customer_id"),
            ("status", "due_at"),
        )


class Disclosure(TenantModel):
    """Personal data that left through a plugin: a message sent through a provider, a payment
    link, an export download. Which provider, when, which categories of data (DPDP s.11 "with
    whom shared"). Holds ids and names of categories only."""

    customer = fields.ForeignKeyField("models.Customer", related_name=False, null=True, on_delete=fields.SET_NULL)
    provider = fields.CharField(max_length=64)  # the plugin (or channel) id the data went through
    recipient = fields.CharField(max_length=200)  # the provider as a subject reads it
    categories = fields.JSONField(default=list)  # e.g. ["phone", "message text"]
    purpose = fields.CharField(max_length=32, default="")  # service, marketing, payment, access
    subject_type = fields.CharField(max_length=32)  # message, payment_link, export
    subject_id = fields.UUIDField(null=True)
    disclosed_at = fields.DatetimeField()

    class Meta:
        table = "disclosure"
        indexes = (("tenant_id", "customer_id", "disclosed_at"), ("tenant_id", "disclosed_at"))


class BreachIncident(TenantModel):
    """A personal data breach and the notifications owed for it, each with its deadline,
    citation, and when it was done. Holds no personal data."""

    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    occurred_at = fields.DatetimeField(null=True)
    aware_at = fields.DatetimeField()
    affected_count = fields.IntField(default=0)
    data_categories = fields.JSONField(default=list)
    obligations = fields.JSONField(default=list)
    closed_at = fields.DatetimeField(null=True)
    created_by = fields.UUIDField(null=True)

    class Meta:
        table = "breach_incident"
        indexes = (("tenant_id", "created_at", "id"), ("closed_at", "aware_at"))


class RateLimit(Model):
    """One counter of a rate limit (core.common.ratelimit): a bucket and a keyed digest of who
    (an IP, an identifier, an account and client). Times are epoch seconds, so the database
    compares numbers; one atomic upsert checks and counts an attempt."""

    id = fields.BigIntField(primary_key=True)
    bucket = fields.CharField(max_length=32)
    key_hash = fields.CharField(max_length=64)
    hits = fields.IntField(default=0)  # attempts counted since the window started
    reset_at = fields.FloatField()  # when the counter is forgotten
    next_at = fields.FloatField(default=0)  # over the limit, with backoff: the earliest next attempt
    delay = fields.FloatField(default=0)  # the last backoff delay, doubled at each attempt over the limit

    class Meta:
        table = "rate_limit"
        unique_together = (("bucket", "key_hash"),)
        indexes = (("reset_at",),)
