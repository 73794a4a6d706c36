"""Delivery of billing reminders to customers.

SEAM: ``send_reminder`` is wired to ``core.outbox.queue_message`` at merge (a service message:
no marketing consent needed; idempotency key ``billing-reminder:<invoice id>:<kind>``). Until
then it records the intent only: a log line with ids, never the customer's contact details.
The reminder itself is already recorded, once per invoice and kind, by ``core.billing.reminders``."""

from __future__ import annotations

import logging

from core.channels import Purpose
from core.enums import ReminderKind
from core.models import Invoice

log = logging.getLogger("seva.billing")

PURPOSE = Purpose.SERVICE
TEMPLATES = {ReminderKind.DUE_SOON: "bill_due", ReminderKind.OVERDUE: "bill_overdue"}


def idempotency_key(invoice: Invoice, kind: ReminderKind) -> str:
    return f"billing-reminder:{invoice.id}:{kind.value}"


async def send_reminder(invoice: Invoice, kind: ReminderKind) -> None:
    """Queue the reminder message (wired to core.outbox.queue_message at merge)."""
    log.info("reminder intent recorded: %s for invoice %s (template %s, purpose %s)",
             kind.value, invoice.id, TEMPLATES[kind], PURPOSE.value)
