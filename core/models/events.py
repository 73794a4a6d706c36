"""Events out: the change feed's log, and outbound webhook endpoints with their deliveries."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from seva_crm.core.models.base import TenantModel


class ChangeCounter(Model):
    """A tenant's change-feed sequence. Its row is updated in the transaction of each change, so
    the row lock hands out sequence numbers in commit order (see core.platform.changes)."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    seq = fields.BigIntField(default=0)
    pruned_through = fields.BigIntField(default=0)  # changes up to here were pruned: older cursors resync

    class Meta:
        table = "change_counter"
        unique_together = (("tenant_id",),)  # one row per tenant (the upsert's conflict target)


class Change(Model):
    """One created, updated or deleted object of a tenant: ids and the kind of change, no data."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    seq = fields.BigIntField()
    type = fields.CharField(max_length=32)
    object_id = fields.UUIDField()
    op = fields.CharField(max_length=8)  # created, updated, deleted
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "change_log"
        unique_together = (("tenant_id", "seq"),)
        indexes = [Index(fields=["occurred_at"])]


class WebhookEndpoint(TenantModel):
    """Where a tenant's systems hear of its events. ``secret`` is a ciphertext (core.common.crypto)."""

    url = fields.CharField(max_length=2000)
    description = fields.CharField(max_length=200, default="")
    event_types = fields.JSONField(default=list)  # event names or prefixes ("payment.*"); empty: every event
    secret = fields.TextField()
    enabled = fields.BooleanField(default=True)
    disabled_at = fields.DatetimeField(null=True)
    disabled_reason = fields.CharField(max_length=300, default="")
    consecutive_failures = fields.IntField(default=0)
    failing_since = fields.DatetimeField(null=True)  # the first failure after the last success

    class Meta:
        table = "webhook_endpoint"


class WebhookDelivery(TenantModel):
    """One event sent to one endpoint, with every attempt (time, status code, duration, error)."""

    endpoint = fields.ForeignKeyField("models.WebhookEndpoint", related_name=False, on_delete=fields.CASCADE)
    event_id = fields.CharField(max_length=64)  # the webhook-id header: the same on every attempt
    event_type = fields.CharField(max_length=64)
    payload = fields.JSONField()  # type, timestamp and data: ids and states only
    status = fields.CharField(max_length=16, default="pending")  # pending, succeeded, failed
    attempts = fields.IntField(default=0)
    attempt_log = fields.JSONField(default=list)
    next_attempt_at = fields.DatetimeField(null=True)
    last_status_code = fields.IntField(null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_delivery"
        indexes = [Index(fields=["endpoint_id", "created_at"]), Index(fields=["status", "next_attempt_at"])]
