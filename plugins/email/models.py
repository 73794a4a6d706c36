"""The email plugin's tables (Tortoise app ``email``): addresses that must not be mailed again
(a hard bounce), per tenant. The table was core's until migration 0010; the plugin's first
migration adopted it with its rows."""

from tortoise import fields

from seva_crm.plugin_api import TenantModel


class EmailSuppression(TenantModel):
    """An address that bounced for good: no email goes to it again. The address is kept as a
    keyed digest (core.common.security.digest, purpose email-address), so the list holds no
    personal data and needs no erasure, yet a re-imported customer with the same address stays
    suppressed."""

    address_hash = fields.CharField(max_length=64)
    reason = fields.CharField(max_length=32)  # bounce (later: complaint)
    detail = fields.CharField(max_length=200, default="")  # SMTP codes only, e.g. 550 5.1.1
    message = fields.ForeignKeyField("models.Message", related_name=False, null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "email_suppression"
        unique_together = (("tenant_id", "address_hash"),)
