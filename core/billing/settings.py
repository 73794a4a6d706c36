"""A tenant's billing choices (invoice prefix, reminder lead, due days, default grace)."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError
from seva_crm.core.models import BillingSettings

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
    row = await billing_settings(tenant_id)
    row.update_from_dict({k: v for k, v in changes.items() if k in ("invoice_prefix", *LIMITS)})
    try:
        await row.save()
    except IntegrityError:  # created concurrently: apply to the row that won
        row = await BillingSettings.get(tenant_id=tenant_id)
        row.update_from_dict({k: v for k, v in changes.items() if k in ("invoice_prefix", *LIMITS)})
        await row.save()
    return row


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)
