"""Per-tenant plugin settings and the scheduler's leases."""

from tortoise import fields
from tortoise.models import Model

from seva_crm.core.models.base import TenantModel


class PluginSettings(TenantModel):
    """A tenant's choice for one plugin. ``secrets`` holds ciphertexts only (see core.crypto)."""

    plugin_id = fields.CharField(max_length=64)
    enabled = fields.BooleanField(null=True)  # null: the plugin's default
    values = fields.JSONField(default=dict)
    secrets = fields.JSONField(default=dict)

    class Meta:
        table = "plugin_settings"
        unique_together = (("tenant_id", "plugin_id"),)


class SchedulerLease(Model):
    """Whoever moves ``expires_at`` forward runs the job: one run per interval across schedulers."""

    name = fields.CharField(max_length=100, primary_key=True)
    holder = fields.CharField(max_length=100, default="")
    expires_at = fields.DatetimeField()
    last_run_at = fields.DatetimeField(null=True)

    class Meta:
        table = "scheduler_lease"
