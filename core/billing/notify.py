"""Billing messages, through the outbox: reminders and subscription notices to customers, and
alerts to staff. Amounts and dates are formatted for the reader (``core.common.localise``), and
customers read the tenant's name.

``send_reminder`` queues a service message (no marketing consent needed) with
``core.outbox.queue_message``, idempotency key ``billing-reminder:<invoice id>:<kind>``. Call it
inside the ``core.transactions.transaction()`` that writes the ``billing_reminder`` row
(``core.billing.reminders``): the message and the reminder commit together or not at all, and
the send is enqueued only after the commit. The other senders work the same way: call them in
the transaction of the change they tell about. Nothing personal is logged."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

from seva_crm.core.billing.upi import upi_request
from seva_crm.core.common import localise
from seva_crm.core.common.enums import ReminderKind, Role
from seva_crm.core.messaging.outbox import queue_message
from seva_crm.core.messaging.templates import get_template, render
from seva_crm.core.models import Customer, Invoice, PaymentLink, Plan, Subscription, Tenant, User
from seva_crm.core.platform.channels import Purpose

PURPOSE = Purpose.SERVICE
TEMPLATES = {ReminderKind.DUE_SOON: "invoice_due", ReminderKind.OVERDUE: "invoice_overdue"}
SUSPENDED, REACTIVATED = "subscription_suspended", "subscription_reactivated"
STAFF_ALERT = "billing_staff_alert"


def idempotency_key(invoice: Invoice, kind: ReminderKind) -> str:
    return f"billing-reminder:{invoice.id}:{kind.value}"


def variables(invoice: Invoice, language: str | None = "en") -> dict[str, str]:
    """What the reminder templates need: the amount still due, the due date and the invoice
    number, written for a reader of ``language``."""
    due = max(invoice.total - invoice.amount_paid, 0)
    currency = invoice.currency.value
    return {"amount": localise.money(due, currency, language), "due_date": localise.day(invoice.due_on, language, currency),
            "invoice_number": invoice.number}


async def business_name(tenant_id: UUID) -> str:
    """The name customers know the business by: the tenant's name (the legal name is on invoices)."""
    tenant = await Tenant.get(id=tenant_id).only("id", "name")
    return tenant.name


async def _to_customer(tenant_id: UUID, customer_id: UUID, key: str, values: dict[str, Any], idempotency_key: str) -> None:
    customer = await Customer.get(id=customer_id).only("id", "name", "language")
    template = await get_template(tenant_id, key)
    # the name goes into the variables too (as core.messages.send_template does): a provider
    # template (WhatsApp parameters, an Indian DLT {#var#}) is filled from them at send time
    values = {"name": customer.name, "business": await business_name(tenant_id), **values}
    await queue_message(tenant_id, customer_id, purpose=PURPOSE, template=template.key,
                        body=render(template, values, customer.language.value), variables=values,
                        idempotency_key=idempotency_key)


PAY_BY = {  # {payment} in reminders: a UPI link (India), else the gateway's link, else where to pay
    "upi": {"en": "Pay by UPI: {link}", "hi": "UPI से भुगतान करें: {link}", "bn": "UPI দিয়ে পরিশোধ করুন: {link}"},
    "link": {"en": "Pay online: {link}", "hi": "ऑनलाइन भुगतान करें: {link}", "bn": "অনলাইনে পরিশোধ করুন: {link}"},
    "none": {"en": "Pay at {business}.", "hi": "{business} पर भुगतान करें।", "bn": "{business}-এ পরিশোধ করুন।"},
}


async def payment_text(invoice: Invoice, language: str) -> str:
    """How to pay, in ``language``: the UPI link for what is due, or the invoice's open payment
    link at the tenant's gateway, or the business's name."""
    upi = await upi_request(invoice)
    link = None if upi else await PaymentLink.filter(tenant_id=invoice.tenant_id, invoice_id=invoice.id).exclude(
        status__in=("paid", "cancelled", "expired")).order_by("-created_at").first()
    kind, value = ("upi", upi.uri) if upi else ("link", link.short_url) if link else ("none", "")
    texts = PAY_BY[kind]
    return texts.get(language, texts["en"]).format(link=value, business=await business_name(invoice.tenant_id))


async def send_reminder(invoice: Invoice, kind: ReminderKind) -> None:
    """Queue the reminder message for the invoice's customer (in the caller's transaction)."""
    customer = await Customer.get(id=invoice.customer_id).only("id", "language")
    language = customer.language.value
    values = {**variables(invoice, language), "payment": await payment_text(invoice, language)}
    await _to_customer(invoice.tenant_id, invoice.customer_id, TEMPLATES[kind], values, idempotency_key(invoice, kind))


async def send_subscription_notice(sub: Subscription, key: str, invoice: Invoice | None, stamp: str) -> None:
    """Tell the customer their subscription was suspended (``invoice``: the oldest unpaid one)
    or is active again; ``stamp`` tells one suspension from the next (the idempotency key)."""
    customer = await Customer.get(id=sub.customer_id).only("id", "language")
    plan = await Plan.get(id=sub.plan_id).only("id", "name")
    values: dict[str, Any] = {"plan": plan.name}
    if invoice is not None:
        values.update(variables(invoice, customer.language.value))
    await _to_customer(sub.tenant_id, sub.customer_id, key, values, f"billing-{key}:{sub.id}:{stamp}")


def _short(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40]


async def alert_staff(tenant_id: UUID, summary: str, key: str) -> list[UUID]:
    """Queue ``summary`` (ids, numbers and amounts only: no personal data) to each active admin
    and owner, by email (SMS for one without an email). Returns the message ids."""
    admins = await User.filter(tenant_id=tenant_id, is_active=True, role__in=[Role.ADMIN, Role.OWNER]).order_by("id")
    template = await get_template(tenant_id, STAFF_ALERT)
    values = {"business": await business_name(tenant_id), "summary": summary}
    ids = []
    for admin in admins:
        channel = "email" if admin.email else "sms" if admin.phone else None
        if channel is None:
            continue
        message = await queue_message(tenant_id, None, purpose=PURPOSE, template=template.key, body=render(template, values),
                                      variables=values, user_id=admin.id, only_channel=channel,
                                      idempotency_key=f"billing-alert:{_short(key)}:{admin.id}")
        ids.append(message.id)
    return ids
