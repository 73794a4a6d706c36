"""Gateway payments held for staff: taken by a gateway but not recorded on their invoice."""

from tortoise import fields

from seva_crm.core.common.enums import GatewayReviewKind, GatewayReviewResolution
from seva_crm.core.models.base import TenantModel


class GatewayReview(TenantModel):
    """One per gateway payment (tenant, provider, provider payment id): repeats flag nothing new.
    Ids and amounts only, no payer details."""

    provider = fields.CharField(max_length=32)
    provider_payment_id = fields.CharField(max_length=64)
    invoice = fields.ForeignKeyField("models.Invoice", related_name=False, null=True, on_delete=fields.SET_NULL)
    kind = fields.CharEnumField(GatewayReviewKind, max_length=24)
    amount = fields.BigIntField()  # minor units the gateway took
    currency = fields.CharField(max_length=3)  # as the gateway reported it (may not be one of ours)
    expected_amount = fields.BigIntField(default=0)  # what the invoice had due, in its currency
    received_at = fields.DatetimeField()
    method_detail = fields.CharField(max_length=100, default="")
    detail = fields.CharField(max_length=200, default="")  # why, ids and states only
    resolution = fields.CharEnumField(GatewayReviewResolution, max_length=16, null=True)
    resolved_at = fields.DatetimeField(null=True)
    resolved_by = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    provider_refund_id = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "billing_gateway_review"
        unique_together = (("tenant_id", "provider", "provider_payment_id"),)
        indexes = (("tenant_id", "resolved_at"),)
