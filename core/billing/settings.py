"""A tenant's billing choices (invoice prefix, reminder lead, due days, default grace, what to do
with a payment for a void invoice, the UPI id payments are asked to)."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from seva_crm.core.common.enums import LatePaymentAction, Region
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError
from seva_crm.core.models import BillingSettings, Tenant
from seva_crm.core.platform import audit

PREFIX = re.compile(r"^[A-Z0-9]{1,12}$")
VPA = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,98}@[A-Za-z][A-Za-z0-9]{1,48}$")  # name@bank, as NPCI allows
LIMITS = {"reminder_days_before": (0, 60), "invoice_due_days": (0, 365), "grace_days": (0, 365)}
FIELDS = ("invoice_prefix", *LIMITS, "late_payment_action", "upi_vpa")


async def billing_settings(tenant_id: UUID) -> BillingSettings:
    """The tenant's settings, or the defaults (an unsaved row) if it never chose."""
    return await BillingSettings.get_or_none(tenant_id=tenant_id) or BillingSettings(tenant_id=tenant_id)


def _check(changes: dict[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    if "invoice_prefix" in changes and not PREFIX.match(changes["invoice_prefix"] or ""):
        errors.append(FieldError("invoicePrefix", ErrorCode.INVALID, "1 to 12 capital letters or digits"))
    for key, (low, high) in LIMITS.items():
        if key in changes and not low <= (changes[key] if changes[key] is not None else -1) <= high:
            errors.append(FieldError(_camel(key), ErrorCode.INVALID, f"must be between {low} and {high}"))
    if "late_payment_action" in changes:
        try:
            changes["late_payment_action"] = LatePaymentAction(changes["late_payment_action"])
        except ValueError:
            errors.append(FieldError("latePaymentAction", ErrorCode.INVALID, "credit or refund"))
    if "upi_vpa" in changes:
        changes["upi_vpa"] = (changes["upi_vpa"] or "").strip()
        if changes["upi_vpa"] and not VPA.match(changes["upi_vpa"]):
            errors.append(FieldError("upiVpa", ErrorCode.INVALID, "a UPI id such as centre@okaxis"))
    if errors:
        raise DomainError(*errors)
    return {k: v for k, v in changes.items() if k in FIELDS}


INDIA_PREFIX = 4  # PREFIX-2526-000001 stays within GST's 16 characters


async def update_billing_settings(tenant_id: UUID, changes: dict[str, Any]) -> BillingSettings:
    """Change some settings; audited with each changed value before and after (the UPI id is
    the business's own, not personal data). In India the prefix has at most 4 characters, so
    an invoice number fits GST's 16."""
    changes = _check(dict(changes))
    if len(changes.get("invoice_prefix") or "") > INDIA_PREFIX:
        region = (await Tenant.get(id=tenant_id).only("id", "region")).region
        if region is Region.IN:
            raise DomainError.of("invoicePrefix", ErrorCode.INVALID, f"at most {INDIA_PREFIX} characters in India: "
                                                                     "a GST invoice number has at most 16")
    async with in_transaction():
        row = await billing_settings(tenant_id)
        before = {k: _plain(getattr(row, k)) for k in changes}
        row.update_from_dict(changes)
        try:
            async with in_transaction():
                await row.save()
        except IntegrityError:  # created concurrently: apply to the row that won
            row = await BillingSettings.get(tenant_id=tenant_id)
            before = {k: _plain(getattr(row, k)) for k in changes}
            row.update_from_dict(changes)
            await row.save()
        changed = sorted(k for k in changes if before[k] != _plain(getattr(row, k)))
        if changed:
            await audit.record(tenant_id, "billing_settings.updated", subject_type="billing_settings", subject_id=tenant_id,
                               changed=changed, details={"before": {k: before[k] for k in changed},
                                                         "after": {k: _plain(getattr(row, k)) for k in changed}})
    return row


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)
