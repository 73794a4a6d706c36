"""Finding the billing reminders that are due, each produced at most once.

A reminder is a ``billing_reminder`` row, unique per invoice and kind, written in the same
transaction as the outbox message ``core.billing.notify.send_reminder`` queues,
so a reminder is never produced twice, whether this runs again, twice at once, or after a crash.
- due_soon: an open invoice due within the tenant's ``reminder_days_before`` days (default 3;
  for a renewal invoice that is N days before the renewal date).
- overdue: an open invoice still unpaid after its due date, once.
Reminders are service messages: they need no marketing consent."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery

from seva_crm.core.billing import notify
from seva_crm.core.billing.clock import todays
from seva_crm.core.billing.invoices import DUNNED
from seva_crm.core.billing.money import days
from seva_crm.core.billing.settings import LIMITS, billing_settings
from seva_crm.core.common.enums import ReminderKind
from seva_crm.core.jobs.schedule import HOUR, periodic
from seva_crm.core.models import BillingReminder, Invoice
from seva_crm.core.storage.transactions import transaction

MAX_LEAD_DAYS = LIMITS["reminder_days_before"][1]


@periodic("billing.reminders", every_seconds=HOUR)
async def due_reminders(now: datetime, tenant_id: UUID | None = None) -> list[tuple[UUID, ReminderKind]]:
    """Produce every reminder due at ``now`` (of ``tenant_id`` only, if given); returns (invoice
    id, kind) of each one produced."""
    produced: list[tuple[UUID, ReminderKind]] = []
    horizon = now.date() + days(MAX_LEAD_DAYS + 1)
    for kind, due in ((ReminderKind.OVERDUE, {"due_on__lt": now.date() + days(1)}),
                      (ReminderKind.DUE_SOON, {"due_on__lte": horizon})):
        already = Subquery(BillingReminder.filter(kind=kind).values("invoice_id"))
        scope = {"tenant_id": tenant_id} if tenant_id else {}
        invoices = await Invoice.filter(status__in=DUNNED, **due, **scope).exclude(id__in=already).order_by("due_on")
        today_of = await todays({i.tenant_id for i in invoices}, now)
        lead_of: dict[UUID, int] = {}
        for invoice in invoices:
            today = today_of[invoice.tenant_id]
            if kind is ReminderKind.OVERDUE:
                wanted = invoice.due_on < today
            else:
                if invoice.tenant_id not in lead_of:
                    lead_of[invoice.tenant_id] = (await billing_settings(invoice.tenant_id)).reminder_days_before
                wanted = today <= invoice.due_on <= today + days(lead_of[invoice.tenant_id])
            if wanted and await _produce(invoice, kind):
                produced.append((invoice.id, kind))
    return produced


async def _produce(invoice: Invoice, kind: ReminderKind) -> bool:
    try:
        async with transaction():
            await BillingReminder.create(tenant_id=invoice.tenant_id, invoice_id=invoice.id, kind=kind)
            await notify.send_reminder(invoice, kind)
    except IntegrityError:  # produced a moment ago by another run
        return False
    return True
