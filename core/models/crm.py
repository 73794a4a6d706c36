"""The CRM around customers: status notification rules, support tickets with their SLA,
conversations, customer notes and leads (core.crm, core.messaging.conversations)."""

from tortoise import fields

from seva_crm.core.common.enums import Currency, TicketPriority, TicketStatus
from seva_crm.core.models.base import TenantModel


class StatusRule(TenantModel):
    """Send ``template`` to the customer when a ``subject`` (service_record, ticket) enters ``status``.
    A built-in default (core.crm.status_rules.DEFAULTS) applies until the tenant sets its own row."""

    subject = fields.CharField(max_length=32)
    status = fields.CharField(max_length=32)
    template = fields.CharField(max_length=64)
    enabled = fields.BooleanField(default=True)

    class Meta:
        table = "status_rule"
        unique_together = (("tenant_id", "subject", "status"),)


class CrmSettings(TenantModel):
    """A tenant's CRM settings: ticket SLA minutes by priority, lead pipeline stages in order."""

    sla = fields.JSONField(default=dict)  # priority -> {"first_response": minutes, "resolution": minutes}
    lead_stages = fields.JSONField(default=list)

    class Meta:
        table = "crm_settings"
        unique_together = (("tenant_id",),)


class Ticket(TenantModel):
    """A support ticket of one customer, or an incident (``is_incident``, no customer) whose child
    tickets, one per affected customer, point at it (``parent``)."""

    number = fields.IntField()
    customer = fields.ForeignKeyField("models.Customer", related_name=False, null=True, on_delete=fields.CASCADE)
    parent = fields.ForeignKeyField("models.Ticket", related_name=False, null=True, on_delete=fields.CASCADE)
    is_incident = fields.BooleanField(default=False)
    subject = fields.CharField(max_length=200)
    category = fields.CharField(max_length=50, default="")
    priority = fields.CharEnumField(TicketPriority, max_length=16)
    status = fields.CharEnumField(TicketStatus, max_length=16, default=TicketStatus.OPEN)
    assignee = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    first_response_due_at = fields.DatetimeField()
    resolution_due_at = fields.DatetimeField()
    first_responded_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "ticket"
        unique_together = (("tenant_id", "number"),)
        indexes = (("tenant_id", "created_at", "id"), ("tenant_id", "customer_id", "created_at"), ("tenant_id", "parent_id"))


class TicketComment(TenantModel):
    """A comment on a ticket: internal (staff only) or sent to the customer (``message``)."""

    ticket = fields.ForeignKeyField("models.Ticket", related_name=False, on_delete=fields.CASCADE)
    author = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    body = fields.TextField()
    internal = fields.BooleanField(default=True)

    class Meta:
        table = "ticket_comment"
        indexes = (("tenant_id", "ticket_id", "created_at"),)


class CustomerNote(TenantModel):
    customer = fields.ForeignKeyField("models.Customer", related_name=False, on_delete=fields.CASCADE)
    author = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    body = fields.TextField()

    class Meta:
        table = "customer_note"
        indexes = (("tenant_id", "customer_id", "created_at"),)


class Conversation(TenantModel):
    """A customer's thread of messages on every channel: who handles it, and up to when it was read."""

    customer = fields.ForeignKeyField("models.Customer", related_name=False, on_delete=fields.CASCADE)
    assignee = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    last_inbound_at = fields.DatetimeField(null=True)
    last_read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "conversation"
        unique_together = (("tenant_id", "customer_id"),)
        indexes = (("tenant_id", "last_inbound_at"), ("tenant_id", "assignee_id"), ("tenant_id", "updated_at", "id"))  # the list


class Lead(TenantModel):
    """A prospective customer moving through the tenant's pipeline stages."""

    name = fields.CharField(max_length=200)
    phone = fields.CharField(max_length=20, null=True)
    email = fields.CharField(max_length=254, null=True)
    source = fields.CharField(max_length=50, default="")
    stage = fields.CharField(max_length=50)
    owner = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    value_amount = fields.BigIntField(default=0)  # minor units
    currency = fields.CharEnumField(Currency, max_length=3)
    next_action = fields.CharField(max_length=500, default="")
    next_action_at = fields.DatetimeField(null=True)
    notes = fields.TextField(default="")
    customer = fields.ForeignKeyField("models.Customer", related_name=False, null=True, on_delete=fields.SET_NULL)
    converted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "lead"
        indexes = (("tenant_id", "created_at", "id"), ("tenant_id", "stage"))
