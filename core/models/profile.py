"""How a tenant describes itself: legal identity, address, tax ids, contact and logo. One row per
tenant (a tenant without one has an empty profile); its name, timezone and locale stay on the
tenant row. Printed on invoices and used in the messages customers read."""

from tortoise import fields

from seva_crm.core.models.base import TenantModel


class TenantProfile(TenantModel):
    legal_name = fields.CharField(max_length=200, default="")  # empty: the tenant's name
    registration_number = fields.CharField(max_length=64, default="")  # CSC id, trade licence, CIN ...
    address_line1 = fields.CharField(max_length=200, default="")
    address_line2 = fields.CharField(max_length=200, default="")
    city = fields.CharField(max_length=100, default="")
    state = fields.CharField(max_length=100, default="")  # India: the GST state's name
    state_code = fields.CharField(max_length=2, default="")  # India: GST state code, e.g. 27
    postal_code = fields.CharField(max_length=12, default="")
    country = fields.CharField(max_length=2, default="")  # IN, BD
    gstin = fields.CharField(max_length=15, default="")  # India
    bin = fields.CharField(max_length=13, default="")  # Bangladesh (VAT business identification number)
    phone = fields.CharField(max_length=20, default="")
    email = fields.CharField(max_length=254, default="")
    logo = fields.BinaryField(null=True)  # PNG or JPEG, at most 256 KiB, checked by its bytes
    logo_type = fields.CharField(max_length=16, default="")  # image/png, image/jpeg

    class Meta:
        table = "tenant_profile"
        unique_together = (("tenant_id",),)
