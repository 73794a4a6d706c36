"""The outbox (every outbound notification is a row first), the consent ledger, tenants' message
templates and inbound messages."""

from tortoise import fields

from seva_crm.core.common.enums import MessageStatus
from seva_crm.core.models.base import TenantModel


class Message(TenantModel):
    """One outbound notification. Its recipient is a customer, or (alerts) a member of staff."""

    customer = fields.ForeignKeyField("models.Customer", related_name=False, null=True, on_delete=fields.SET_NULL)
    user = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)  # staff recipient
    only_channel = fields.CharField(max_length=32, null=True)  # send on this channel or not at all (codes, links)
    purpose = fields.CharField(max_length=16)  # core.channels.Purpose
    template = fields.CharField(max_length=64)
    body = fields.TextField(default="")
    variables = fields.JSONField(default=dict)
    channel = fields.CharField(max_length=32, null=True)  # the channel now being tried
    channels_tried = fields.JSONField(default=list)
    status = fields.CharEnumField(MessageStatus, max_length=16, default=MessageStatus.QUEUED)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    locked_until = fields.DatetimeField(null=True)  # a sender's lease while status is sending
    provider_id = fields.CharField(max_length=128, null=True, db_index=True)
    last_error = fields.TextField(default="")
    idempotency_key = fields.CharField(max_length=128)
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    read_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)
    # what channels found out about the message: at queue time (e.g. {"sms": {"segments": 2, ...}})
    # and from the provider on sending (SendResult.detail under the channel's name)
    detail = fields.JSONField(default=dict)
    # a subject's secret (``code``: a verification code, ``link``: an export link): the body and
    # variables are sealed (core.common.crypto) until sent, emptied after, and never shown to staff
    secret = fields.CharField(max_length=8, default="")
    # a document to send with it, as a reference rendered at send time (core.messaging.attachments)
    attachment = fields.JSONField(null=True)

    class Meta:
        table = "message"
        unique_together = (("tenant_id", "idempotency_key"),)
        indexes = (("tenant_id", "created_at", "id"), ("tenant_id", "customer_id", "created_at"), ("status", "next_attempt_at"),
                   ("tenant_id", "status", "created_at", "id"))  # the list filtered by status


class Consent(TenantModel):
    """One entry of a customer's consent history: rows are added, never changed. The latest
    row for (customer, purpose, channel kind) is in force; channel null means every channel."""

    customer = fields.ForeignKeyField("models.Customer", related_name=False, on_delete=fields.CASCADE)
    purpose = fields.CharField(max_length=32)
    channel = fields.CharField(max_length=32, null=True)  # a kind of channel (core.platform.channels)
    granted = fields.BooleanField()
    source = fields.CharField(max_length=32)  # staff, customer_link, stop_reply, unsubscribe, import
    notice_version = fields.CharField(max_length=32, default="")
    notice_language = fields.CharField(max_length=8, default="")
    evidence = fields.JSONField(default=dict)  # actor, ip, user agent, reference
    guardian = fields.JSONField(default=dict)  # for a child: the consenting parent's identity

    class Meta:
        table = "consent"
        indexes = (("tenant_id", "customer_id", "purpose", "created_at"),)


class MessageTemplate(TenantModel):
    """A tenant's own version of a template key (overriding the built-in one, if any): its text
    per language with named variables, and per channel and language the binding registered with
    the provider (core.templates documents the shapes)."""

    key = fields.CharField(max_length=64)
    purpose = fields.CharField(max_length=16)  # core.channels.Purpose
    texts = fields.JSONField(default=dict)  # language -> text with {variables}
    bindings = fields.JSONField(default=dict)  # channel -> language -> binding

    class Meta:
        table = "message_template"
        unique_together = (("tenant_id", "key"),)


class InboundMessage(TenantModel):
    """A message a customer sent us on a channel (a reply, STOP, START). The newest one on
    WhatsApp opens the 24-hour window for free text."""

    customer = fields.ForeignKeyField("models.Customer", related_name=False, null=True, on_delete=fields.CASCADE)
    channel = fields.CharField(max_length=16)
    provider_id = fields.CharField(max_length=128)  # the provider's message id (a wamid)
    sender = fields.CharField(max_length=20)  # E.164
    kind = fields.CharField(max_length=16, default="text")  # text, button, image, ...
    body = fields.TextField(default="")
    received_at = fields.DatetimeField()

    class Meta:
        table = "inbound_message"
        unique_together = (("tenant_id", "channel", "provider_id"),)
        indexes = (("tenant_id", "customer_id", "channel", "received_at"),)
