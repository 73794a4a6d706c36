"""The whatsapp plugin's tables (Tortoise app ``whatsapp``)."""

from tortoise import fields

from seva_crm.plugin_api import TenantModel


class WhatsAppContact(TenantModel):
    """A customer WhatsApp told us is not on WhatsApp (error 131026): later messages skip
    WhatsApp without asking. Deleted when they write to us on WhatsApp, or are erased."""

    customer = fields.ForeignKeyField("models.Customer", related_name=False, on_delete=fields.CASCADE)
    unreachable_at = fields.DatetimeField()

    class Meta:
        table = "whatsapp_contact"
        unique_together = (("tenant_id", "customer_id"),)
