"""Billing: plans, subscriptions, invoices, payments, refunds, reminders and gateway records.

Money is always integer minor units (paise, poisha) in BigIntField, with its currency beside it."""

from tortoise import fields
from tortoise.models import Model

from seva_crm.core.common.enums import (
    BillingInterval,
    Currency,
    InvoiceStatus,
    LatePaymentAction,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
    ReminderKind,
    SubscriptionStatus,
)
from seva_crm.core.models.base import TenantModel


class BillingSettings(TenantModel):
    """A tenant's billing choices. A tenant without a row uses the defaults below."""

    invoice_prefix = fields.CharField(max_length=12, default="INV")
    reminder_days_before = fields.IntField(default=3)  # also how early a renewal invoice is issued
    invoice_due_days = fields.IntField(default=7)  # manual invoices: due this many days after issue
    grace_days = fields.IntField(default=7)  # default for new subscriptions
    late_payment_action = fields.CharEnumField(LatePaymentAction, max_length=16, default=LatePaymentAction.CREDIT,
                                              db_default="credit")
    upi_vpa = fields.CharField(max_length=100, default="", db_default="")  # the tenant UPI id (India): link and QR on invoices

    class Meta:
        table = "billing_settings"
        unique_together = (("tenant_id",),)


class Plan(TenantModel):
    """An item of a tenant's catalogue. ``tax_rate_bp`` is basis points: 1800 means 18 percent."""

    name = fields.CharField(max_length=200)
    amount = fields.BigIntField()  # minor units, before tax
    currency = fields.CharEnumField(Currency, max_length=3)
    interval = fields.CharEnumField(BillingInterval, max_length=16)
    tax_rate_bp = fields.IntField(default=0)
    hsn_sac = fields.CharField(max_length=8, default="", db_default="")  # HSN (goods) or SAC (services), on tax invoices
    active = fields.BooleanField(default=True)

    class Meta:
        table = "billing_plan"
        indexes = (("tenant_id", "created_at", "id"), ("tenant_id", "active"))


class Subscription(TenantModel):
    customer = fields.ForeignKeyField("models.Customer", related_name=False, on_delete=fields.NO_ACTION)
    plan = fields.ForeignKeyField("models.Plan", related_name=False, on_delete=fields.NO_ACTION)
    status = fields.CharEnumField(SubscriptionStatus, max_length=16)
    started_on = fields.DateField()  # its day of month anchors every later period
    current_period_start = fields.DateField()
    current_period_end = fields.DateField()  # exclusive: the next period starts on this day
    next_renewal_on = fields.DateField(null=True)  # null: will not renew
    auto_renew = fields.BooleanField(default=True)
    grace_days = fields.IntField(default=7)
    paused_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    gateway = fields.CharField(max_length=32, null=True)  # auto-debit through a gateway plugin
    gateway_subscription_id = fields.CharField(max_length=64, null=True)
    gateway_event_at = fields.BigIntField(null=True)  # created_at of the newest gateway event applied

    class Meta:
        table = "billing_subscription"
        indexes = (
            ("tenant_id", "created_at", "id"),
            ("tenant_id", "customer_id"),
            ("tenant_id", "status", "next_renewal_on"),
            ("gateway", "gateway_subscription_id"),
        )


class InvoiceCounter(Model):
    """The last invoice number given in a tenant's year. Locked FOR UPDATE while an invoice is
    numbered, so numbers are gapless and unique under concurrent creation."""

    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    year = fields.IntField()
    last_number = fields.BigIntField(default=0)

    class Meta:
        table = "billing_invoice_counter"
        unique_together = (("tenant_id", "year"),)


class Invoice(TenantModel):
    customer = fields.ForeignKeyField("models.Customer", related_name=False, on_delete=fields.NO_ACTION)
    subscription = fields.ForeignKeyField("models.Subscription", related_name=False, null=True, on_delete=fields.NO_ACTION)
    number = fields.CharField(max_length=32)  # INV-2026-000123, also the gateway reference id
    status = fields.CharEnumField(InvoiceStatus, max_length=16, default=InvoiceStatus.OPEN)
    currency = fields.CharEnumField(Currency, max_length=3)
    subtotal = fields.BigIntField()
    tax_total = fields.BigIntField()
    total = fields.BigIntField()
    amount_paid = fields.BigIntField(default=0)  # captured payments net of refunds
    issued_on = fields.DateField()
    due_on = fields.DateField()
    period_start = fields.DateField(null=True)  # the subscription period this bills
    period_end = fields.DateField(null=True)
    paid_at = fields.DatetimeField(null=True)
    voided_at = fields.DatetimeField(null=True)
    notes = fields.TextField(default="")
    # the tax identities as they were at issue (a tax invoice never changes after): GSTIN or BIN,
    # and for India the supplier's state and the place of supply (GST state codes)
    supplier_tax_id = fields.CharField(max_length=15, default="", db_default="")
    supplier_state_code = fields.CharField(max_length=2, default="", db_default="")
    recipient_tax_id = fields.CharField(max_length=15, default="", db_default="")
    place_of_supply = fields.CharField(max_length=2, default="", db_default="")

    class Meta:
        table = "billing_invoice"
        unique_together = (("tenant_id", "number"), ("subscription_id", "period_start"))
        indexes = (
            ("tenant_id", "created_at", "id"),
            ("tenant_id", "customer_id", "created_at"),
            ("tenant_id", "status", "due_on"),
            ("status", "due_on"),
            ("tenant_id", "due_on", "id"),
            ("tenant_id", "status", "created_at", "id"),  # a status filter in the list's default order
        )


class InvoiceLine(Model):
    """One line: amount is quantity times unit amount, tax is rounded half up on the line."""

    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    invoice = fields.ForeignKeyField("models.Invoice", related_name=False, on_delete=fields.CASCADE)
    position = fields.IntField()
    description = fields.CharField(max_length=300)
    quantity = fields.IntField(default=1)
    unit_amount = fields.BigIntField()
    amount = fields.BigIntField()
    tax_rate_bp = fields.IntField(default=0)
    tax_amount = fields.BigIntField(default=0)
    hsn_sac = fields.CharField(max_length=8, default="", db_default="")

    class Meta:
        table = "billing_invoice_line"
        indexes = (("invoice_id", "position"),)


class Payment(TenantModel):
    invoice = fields.ForeignKeyField("models.Invoice", related_name=False, on_delete=fields.NO_ACTION)
    customer = fields.ForeignKeyField("models.Customer", related_name=False, on_delete=fields.NO_ACTION)
    amount = fields.BigIntField()
    currency = fields.CharEnumField(Currency, max_length=3)
    method = fields.CharEnumField(PaymentMethod, max_length=16)
    status = fields.CharEnumField(PaymentStatus, max_length=16, default=PaymentStatus.CAPTURED)
    reference = fields.CharField(max_length=100, default="")  # UPI reference, cheque number, ...
    provider = fields.CharField(max_length=32, null=True)  # gateway plugin id, e.g. razorpay
    provider_payment_id = fields.CharField(max_length=64, null=True)  # pay_... recorded once per tenant
    refunded_amount = fields.BigIntField(default=0)  # pending and processed refunds
    received_at = fields.DatetimeField()
    recorded_by = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "billing_payment"
        unique_together = (("tenant_id", "provider_payment_id"),)  # a gateway's id, unique within its tenant
        # the list: newest received first, (received_at, id) its keyset; a customer's payments
        indexes = (("tenant_id", "created_at", "id"), ("tenant_id", "invoice_id"), ("tenant_id", "received_at", "id"),
                   ("tenant_id", "customer_id", "received_at"))


class Refund(TenantModel):
    payment = fields.ForeignKeyField("models.Payment", related_name=False, on_delete=fields.NO_ACTION)
    amount = fields.BigIntField()
    status = fields.CharEnumField(RefundStatus, max_length=16, default=RefundStatus.PROCESSED)
    reason = fields.CharField(max_length=300, default="")
    provider_refund_id = fields.CharField(max_length=64, null=True)  # rfnd_..., once per tenant
    # who made it; null: a gateway's report or the system
    refunded_by = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "billing_refund"
        unique_together = (("tenant_id", "provider_refund_id"),)
        indexes = (("tenant_id", "payment_id"),)


class Credit(TenantModel):
    """Money a customer has with the tenant (a payment for a void invoice, unused days of a changed plan)."""

    customer = fields.ForeignKeyField("models.Customer", related_name=False, on_delete=fields.NO_ACTION)
    payment = fields.ForeignKeyField("models.Payment", related_name=False, null=True, on_delete=fields.NO_ACTION)
    amount = fields.BigIntField()  # minor units
    currency = fields.CharEnumField(Currency, max_length=3)
    reason = fields.CharField(max_length=300, default="")

    class Meta:
        table = "billing_credit"
        unique_together = (("tenant_id", "payment_id"),)  # one credit per late payment
        indexes = (("tenant_id", "customer_id"),)


class CustomerTax(TenantModel):
    """A business customer's tax identity (B2B): GSTIN or BIN, and for India the GST state code
    that makes the place of supply. The address printed is the customer's own."""

    customer = fields.ForeignKeyField("models.Customer", related_name=False, on_delete=fields.CASCADE)
    tax_id = fields.CharField(max_length=15, default="")
    state_code = fields.CharField(max_length=2, default="")

    class Meta:
        table = "billing_customer_tax"
        unique_together = (("tenant_id", "customer_id"),)


class BillingReminder(TenantModel):
    """A reminder produced for an invoice. Unique per invoice and kind, so none is sent twice."""

    invoice = fields.ForeignKeyField("models.Invoice", related_name=False, on_delete=fields.CASCADE)
    kind = fields.CharEnumField(ReminderKind, max_length=16)

    class Meta:
        table = "billing_reminder"
        unique_together = (("invoice_id", "kind"),)


class PaymentLink(TenantModel):
    """A hosted payment page at a gateway for one invoice. ``reference_id`` (the invoice
    number) is the gateway's idempotency key: one link per invoice and gateway."""

    invoice = fields.ForeignKeyField("models.Invoice", related_name=False, on_delete=fields.CASCADE)
    provider = fields.CharField(max_length=32)
    provider_id = fields.CharField(max_length=64)  # plink_...
    reference_id = fields.CharField(max_length=40)
    status = fields.CharField(max_length=16)  # the gateway's: created, partially_paid, paid, expired, cancelled
    short_url = fields.CharField(max_length=500)
    amount = fields.BigIntField()
    currency = fields.CharEnumField(Currency, max_length=3)

    class Meta:
        table = "billing_payment_link"
        unique_together = (("tenant_id", "provider", "reference_id"),)
        indexes = (("tenant_id", "invoice_id"), ("provider", "provider_id"))


class GatewayEvent(TenantModel):
    """A webhook event as received (signature already verified). Unique per tenant, provider and
    the provider's event id: a replayed delivery is acknowledged and changes nothing."""

    provider = fields.CharField(max_length=32)
    event_id = fields.CharField(max_length=64)
    name = fields.CharField(max_length=64)
    payload = fields.JSONField(default=dict)
    processed_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    outcome = fields.CharField(max_length=200, default="")  # what processing did, ids only

    class Meta:
        table = "billing_gateway_event"
        unique_together = (("tenant_id", "provider", "event_id"),)
        indexes = (("processed_at", "created_at"),)
