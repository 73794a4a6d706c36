from tortoise import fields
from tortoise.models import Model


class TimestampedModel(Model):
    id = fields.UUIDField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantModel(TimestampedModel):
    """Base of every tenant-owned row: queries filter on ``tenant_id`` first."""

    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)

    class Meta:
        abstract = True
