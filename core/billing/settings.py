"""A tenant's billing choices (invoice prefix, reminder lead, due days, default grace)."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError
from seva_crm.core.models import BillingSettings
from seva_crm.core.platform import audit

FIELDS = ("invoice_prefix", "reminder_days_before", "invoice_due_days", "grace_days")

PREFIX = re.compile(r"^[A-Z0-9]{1,12}$")
LIMITS = {"reminder_days_before": (0, 60), "invoice_due_days": (0, 365), "grace_days": (0, 365)}


async def billing_settings(tenant_id: UUID) -> BillingSettings:
    """The tenant's settings, or the defaults (an unsaved row) if it never chose."""
    return await BillingSettings.get_or_none(tenant_id=tenant_id) or BillingSettings(tenant_id=tenant_id)


async def update_billing_settings(tenant_id: UUID, changes: dict[str, Any]) -> BillingSettings:
    errors: list[FieldError] = []
    if "invoice_prefix" in changes and not PREFIX.match(changes["invoice_prefix"] or ""):
        errors.append(FieldError("invoicePrefix", ErrorCode.INVALID, "1 to 12 capital letters or digits"))
    for key, (low, high) in LIMITS.items():
        if key in changes and not low <= (changes[key] if changes[key] is not None else -1) <= high:
            errors.append(FieldError(_camel(key), ErrorCode.INVALID, f"must be between {low} and {high}"))
    if errors:
        raise DomainError(*errors)
    try:
        return await _save(await billing_settings(tenant_id), changes)
    except IntegrityError:  # created concurrently: apply to the row that won
        return await _save(await BillingSettings.get(tenant_id=tenant_id), changes)


async def _save(row: BillingSettings, changes: dict[str, Any]) -> BillingSettings:
    """Apply and save the changes, audited with before and after values."""
    before = {k: getattr(row, k) for k in FIELDS}
    row.update_from_dict({k: v for k, v in changes.items() if k in FIELDS})
    changed, details = audit.setting_changes(before, {k: getattr(row, k) for k in FIELDS})
    async with in_transaction():
        await row.save()
        if changed:
            await audit.record(row.tenant_id, "billing_settings.updated", subject_type="billing_settings",
                               subject_id=row.tenant_id, changed=changed, details=details)
    return row


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)
