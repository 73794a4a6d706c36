"""The tenant's billing settings, and its customers' credits."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import Info

from seva_crm.core.billing import settings
from seva_crm.core.common import enums
from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import BillingSettings as SettingsRow
from seva_crm.core.models import Credit as CreditRow
from seva_crm.schema.billing import BigMoney, _data
from seva_crm.schema.customers import customer_id
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs
from seva_crm.schema.relay import Connection, connection
from seva_crm.core.common.paging import datetime_key

LatePaymentAction = strawberry.enum(enums.LatePaymentAction, description="What becomes of a payment for a void invoice")


@strawberry.type(description="How the tenant bills. Every change is in the audit log with its actor.")
class BillingSettings:
    invoice_prefix: str = strawberry.field(description="Invoice numbers are PREFIX-YEAR-000001")
    reminder_days_before: int = strawberry.field(description="Due-soon reminders (and renewal invoices) this many days ahead")
    invoice_due_days: int = strawberry.field(description="Manual invoices are due this many days after issue")
    grace_days: int = strawberry.field(description="Default days past due before a subscription is suspended")
    late_payment_action: LatePaymentAction
    upi_vpa: str = strawberry.field(description="The UPI id (India) payments are asked to: a UPI link and QR on each invoice; "
                                                "empty: none")


@strawberry.input(description="Only the fields given change.")
class BillingSettingsInput:
    invoice_prefix: str | None = None
    reminder_days_before: int | None = None
    invoice_due_days: int | None = None
    grace_days: int | None = None
    late_payment_action: LatePaymentAction | None = None
    upi_vpa: str | None = None


@strawberry.type
class BillingSettingsPayload:
    billing_settings: BillingSettings | None
    errors: list[UserError]


@strawberry.type(description="Money a customer has with the tenant (a payment that came for a void invoice, "
                             "the unused days of a plan changed mid-period)")
class Credit:
    @strawberry.field
    def id(self: CreditRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Credit", self.id))

    @strawberry.field
    def customer_id(self: CreditRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Customer", self.customer_id))

    @strawberry.field
    def payment_id(self: CreditRow) -> strawberry.ID | None:
        return strawberry.ID(to_global_id("Payment", self.payment_id)) if self.payment_id else None

    @strawberry.field
    def amount(self: CreditRow) -> BigMoney:
        return BigMoney(amount=self.amount, currency=self.currency)

    reason: str
    created_at: datetime


NEWEST = datetime_key("created_at", True)


@strawberry.type
class BillingSettingsQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def billing_settings(self, info: Info) -> BillingSettings:
        row: SettingsRow = await settings.billing_settings(info.context.tenant.id)
        return row  # type: ignore[return-value]

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="Customers' credits, newest first")
    async def credits(self, info: Info, customer: strawberry.ID | None = None, first: int | None = None, after: str | None = None,
                      last: int | None = None, before: str | None = None) -> Connection[Credit]:
        qs = CreditRow.filter(tenant_id=info.context.tenant.id)
        if customer is not None:
            qs = qs.filter(customer_id=customer_id(customer))
        return await connection(qs, NEWEST, first, after, last, before)


@strawberry.type
class BillingSettingsMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN), description="Change the tenant's billing settings (audited)")
    async def billing_settings_update(self, info: Info, input: BillingSettingsInput) -> BillingSettingsPayload:
        changes = _data(input)
        if "late_payment_action" in changes:
            changes["late_payment_action"] = changes["late_payment_action"].value
        return await payload(BillingSettingsPayload, "billing_settings", settings.update_billing_settings(info.context.tenant.id, changes))
