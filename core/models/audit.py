"""The append-only audit log, hash-chained per tenant."""

from tortoise import fields
from tortoise.models import Model


class AuditEvent(Model):
    """One entry of the audit log. Its hash covers its canonical form and the hash of the entry
    before it in the same chain (one chain per tenant, one for the platform). Not a foreign key
    to the tenant: the log outlives a purged tenant for the minimum log retention."""

    id = fields.BigIntField(primary_key=True)
    chain = fields.CharField(max_length=36)  # the tenant id, or "platform"
    seq = fields.BigIntField()
    tenant_id = fields.UUIDField(null=True)
    at = fields.DatetimeField()
    actor_type = fields.CharField(max_length=16)  # user, api_key, system, subject, link
    actor_id = fields.CharField(max_length=64, default="")
    action = fields.CharField(max_length=64)
    subject_type = fields.CharField(max_length=32, default="")
    subject_id = fields.CharField(max_length=64, default="")
    changed = fields.JSONField(default=list)  # names of the fields changed
    details = fields.JSONField(default=dict)  # non-personal values, or keyed digests
    ip = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=300, default="")
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_event"
        unique_together = (("chain", "seq"),)
        indexes = (("tenant_id", "at"), ("tenant_id", "subject_type", "subject_id"))


class AuditHead(Model):
    """The newest entry of each chain. Writers lock this row, so one chain grows one entry at a time."""

    chain = fields.CharField(max_length=36, primary_key=True)
    seq = fields.BigIntField(default=0)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_head"
