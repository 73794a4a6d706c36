"""A tenant's customers and the services done for them."""

from tortoise import fields
from tortoise.models import Model

from seva_crm.core.common.enums import Currency, Language, ServiceStatus
from seva_crm.core.models.base import TenantModel


class Customer(TenantModel):
    name = fields.CharField(max_length=200)
    phone = fields.CharField(max_length=20, null=True)  # E.164
    email = fields.CharField(max_length=254, null=True)
    address = fields.TextField(default="")
    date_of_birth = fields.DateField(null=True)
    preferred_channel = fields.CharField(max_length=32, default="")  # a channel id (core.platform.channels); "": the tenant's order
    language = fields.CharEnumField(Language, max_length=8, default=Language.EN)
    tags = fields.JSONField(default=list)  # also indexed in CustomerTag for filtering
    notes = fields.TextField(default="")
    deleted_at = fields.DatetimeField(null=True)
    erased_at = fields.DatetimeField(null=True)  # personal data erased: a stub kept for retained records
    disputed_fields = fields.JSONField(default=list)  # refused corrections the customer disputes
    name_key = fields.CharField(max_length=255, default="")  # core.customers.name_key, kept with the name
    # a household member shares its contact's phone: its own ``phone`` is null (core.customers.households)
    household_contact = fields.ForeignKeyField("models.Customer", related_name=False, null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "customer"
        unique_together = (("tenant_id", "phone"),)
        indexes = (("tenant_id", "created_at", "id"), ("tenant_id", "name", "id"), ("tenant_id", "email"),
                   ("tenant_id", "updated_at", "id"), ("tenant_id", "household_contact_id"))


class CustomerTag(Model):
    """One row per (customer, tag): lets a tag filter use an index on every database."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    # the reverse relation lets a customer list join its tag rows (core.customers.customers: a tag filter)
    customer = fields.ForeignKeyField("models.Customer", related_name="tag_rows", on_delete=fields.CASCADE)
    tag = fields.CharField(max_length=50)
    # the customer's created_at, copied when the row is written (a customer's created_at never changes):
    # a tag's customers newest first are then read from one index, however rare or common the tag
    customer_created_at = fields.DatetimeField(null=True)

    class Meta:
        table = "customer_tag"
        unique_together = (("customer", "tag"),)
        indexes = (("tenant_id", "tag", "customer_created_at", "customer_id"),)


class ServiceRecord(TenantModel):
    customer = fields.ForeignKeyField("models.Customer", related_name=False, on_delete=fields.CASCADE)
    service_name = fields.CharField(max_length=200)
    fee_amount = fields.BigIntField(default=0)  # minor units (paise, poisha)
    currency = fields.CharEnumField(Currency, max_length=3)
    status = fields.CharEnumField(ServiceStatus, max_length=16, default=ServiceStatus.REQUESTED)
    reference_number = fields.CharField(max_length=100, default="")
    follow_up_on = fields.DateField(null=True)
    notes = fields.TextField(default="")

    class Meta:
        table = "service_record"
        indexes = (
            ("tenant_id", "customer_id", "created_at"),
            ("tenant_id", "created_at", "id"),
            ("tenant_id", "status", "created_at", "id"),  # a status filter in the list's order
            ("tenant_id", "follow_up_on"),
        )


class CustomerIdentifier(TenantModel):
    """A government identifier a centre records for a customer (Aadhaar, voter id, NID, PAN,
    passport): the value encrypted at rest (core.common.crypto), its last four digits for the
    masked display; one per customer and kind."""

    customer = fields.ForeignKeyField("models.Customer", related_name=False, on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=16)
    value = fields.TextField()  # ciphertext
    last4 = fields.CharField(max_length=4)

    class Meta:
        table = "customer_identifier"
        unique_together = (("customer_id", "kind"),)
        indexes = (("tenant_id", "customer_id"),)
