"""Delivery of billing reminders to customers, through the outbox.

``send_reminder`` queues a service message (no marketing consent needed) with
``core.outbox.queue_message``, idempotency key ``billing-reminder:<invoice id>:<kind>``. Call it
inside the ``core.transactions.transaction()`` that writes the ``billing_reminder`` row
(``core.billing.reminders``): the message and the reminder commit together or not at all, and
the send is enqueued only after the commit. Nothing personal is logged."""

from __future__ import annotations

from seva_crm.core.billing.html import format_money
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.common.enums import ReminderKind
from seva_crm.core.models import Invoice
from seva_crm.core.messaging.outbox import queue_message
from seva_crm.core.messaging.templates import get_template, render

PURPOSE = Purpose.SERVICE
TEMPLATES = {ReminderKind.DUE_SOON: "invoice_due", ReminderKind.OVERDUE: "invoice_overdue"}


def idempotency_key(invoice: Invoice, kind: ReminderKind) -> str:
    return f"billing-reminder:{invoice.id}:{kind.value}"


def variables(invoice: Invoice) -> dict[str, str]:
    """What the reminder templates need: the amount still due (from minor units, with its
    currency), the due date and the invoice number."""
    due = max(invoice.total - invoice.amount_paid, 0)
    return {"amount": format_money(due, invoice.currency.value), "due_date": invoice.due_on.isoformat(),
            "invoice_number": invoice.number}


async def send_reminder(invoice: Invoice, kind: ReminderKind) -> None:
    """Queue the reminder message for the invoice's customer (in the caller's transaction)."""
    from seva_crm.core.models import Customer

    customer = await Customer.get(id=invoice.customer_id).only("id", "name", "language")
    template = await get_template(invoice.tenant_id, TEMPLATES[kind])
    # the name goes into the variables too (as core.messages.send_template does): a provider
    # template (WhatsApp parameters, an Indian DLT {#var#}) is filled from them at send time
    values = {"name": customer.name, **variables(invoice)}
    await queue_message(invoice.tenant_id, invoice.customer_id, purpose=PURPOSE, template=template.key,
                        body=render(template, values, customer.language.value), variables=values,
                        idempotency_key=idempotency_key(invoice, kind))
