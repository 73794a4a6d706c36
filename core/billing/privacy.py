"""Billing's tables as privacy sources (``core.common.personal_data``; ``core.privacy``
collects them): what access and portability export, and what erasure does with each row.

Invoices, their lines, payments, refunds, payment links and subscriptions are tax records
(category TRANSACTION, tax date = the invoice date): the region's policy keeps them for the tax
retention period (India: CGST Act 2017 s.36) with the customer anonymised (the customer row
itself is anonymised by the profile source), and free text that may name the person (invoice
notes, refund reasons, payment references) masked. Past the period they are deleted.
Reminders are traffic logs. Gateway events (webhook payloads as received) carry the payer's
contact, email, VPA and name: they are exported, and on erasure kept as transaction records with
every personal value in the payload (as the gateway's adapter describes its payloads:
``PayloadPrivacy``) replaced by a keyed digest."""

from __future__ import annotations

import json
from datetime import datetime, time, timezone
from typing import Any

from seva_crm.core.billing.gateways import PayloadPrivacy, payload_privacy
from seva_crm.core.platform import audit
from seva_crm.core.platform.personal_data import Redactor, record_ids as _ids, redact_rows, row_dict
from seva_crm.core.models import (
    BillingReminder,
    Credit,
    Customer,
    CustomerTax,
    GatewayEvent,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentLink,
    Refund,
    Subscription,
)
from seva_crm.core.platform.plugin_types import Disposition, RecordCategory, RecordRef

T = RecordCategory.TRANSACTION
KEEP = (Disposition.RETAIN, Disposition.ANONYMISE)


def _at(day) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


async def _invoices(tenant_id, customer_id) -> dict:
    return {i.id: i for i in await Invoice.filter(tenant_id=tenant_id, customer_id=customer_id)}


class Invoices:
    table, label = "billing_invoice", "your invoices"

    async def export(self, tenant_id, customer_id):
        rows = await Invoice.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("issued_on", "number")
        return [row_dict(r) for r in rows]

    async def plan(self, tenant_id, customer_id):
        return [RecordRef(T, self.table, str(i.id), i.created_at, i.issued_on) for i in (await _invoices(tenant_id, customer_id)).values()]

    async def apply(self, tenant_id, customer_id, decisions):
        keep = _ids(decisions, *KEEP)
        if keep:
            await Invoice.filter(tenant_id=tenant_id, id__in=keep).update(notes="")
        gone = _ids(decisions, Disposition.ERASE)
        if gone:  # past the tax period: the invoice and everything hanging from it
            payments = await Payment.filter(tenant_id=tenant_id, invoice_id__in=gone).values_list("id", flat=True)
            await Refund.filter(tenant_id=tenant_id, payment_id__in=payments).delete()
            await Payment.filter(tenant_id=tenant_id, id__in=payments).delete()
            for model in (InvoiceLine, PaymentLink, BillingReminder):
                await model.filter(tenant_id=tenant_id, invoice_id__in=gone).delete()
            await Invoice.filter(tenant_id=tenant_id, id__in=gone).delete()


class InvoiceLines:
    table, label = "billing_invoice_line", "the lines of your invoices"

    async def export(self, tenant_id, customer_id):
        invoices = await _invoices(tenant_id, customer_id)
        rows = await InvoiceLine.filter(tenant_id=tenant_id, invoice_id__in=list(invoices)).order_by("invoice_id", "position")
        return [row_dict(r) for r in rows]

    async def plan(self, tenant_id, customer_id):
        invoices = await _invoices(tenant_id, customer_id)
        rows = await InvoiceLine.filter(tenant_id=tenant_id, invoice_id__in=list(invoices))
        return [RecordRef(T, self.table, str(r.id), _at(invoices[r.invoice_id].issued_on), invoices[r.invoice_id].issued_on)
                for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        pass  # kept lines go with their invoice (Invoices.apply); the person's name typed into one goes below

    async def redact(self, tenant_id, customer_id, redactor: Redactor) -> int:
        invoices = await Invoice.filter(tenant_id=tenant_id, customer_id=customer_id).values_list("id", flat=True)
        return await redact_rows(InvoiceLine.filter(tenant_id=tenant_id, invoice_id__in=list(invoices)), ["description"], redactor)


class Payments:
    table, label = "billing_payment", "your payments"

    async def export(self, tenant_id, customer_id):
        rows = await Payment.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("received_at")
        return [row_dict(r, ("tenant_id", "recorded_by_id")) for r in rows]

    async def plan(self, tenant_id, customer_id):
        invoices = await _invoices(tenant_id, customer_id)
        rows = await Payment.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(T, self.table, str(r.id), r.created_at,
                          invoices[r.invoice_id].issued_on if r.invoice_id in invoices else r.received_at.date()) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        for row in await Payment.filter(tenant_id=tenant_id, id__in=_ids(decisions, *KEEP)).exclude(reference=""):
            if not row.reference.startswith("h:"):  # a UPI reference or cheque number: a keyed digest, still matchable
                await Payment.filter(id=row.id).update(reference=audit.personal(row.reference))


class Refunds:
    table, label = "billing_refund", "refunds to you"

    async def export(self, tenant_id, customer_id):
        payments = await Payment.filter(tenant_id=tenant_id, customer_id=customer_id).values_list("id", flat=True)
        return [row_dict(r) for r in await Refund.filter(tenant_id=tenant_id, payment_id__in=payments).order_by("created_at")]

    async def plan(self, tenant_id, customer_id):
        payments = {p.id: p for p in await Payment.filter(tenant_id=tenant_id, customer_id=customer_id)}
        invoices = await _invoices(tenant_id, customer_id)
        rows = await Refund.filter(tenant_id=tenant_id, payment_id__in=list(payments))
        return [RecordRef(T, self.table, str(r.id), r.created_at,
                          invoices[payments[r.payment_id].invoice_id].issued_on) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        keep = _ids(decisions, *KEEP)
        if keep:
            await Refund.filter(tenant_id=tenant_id, id__in=keep).update(reason="")


class PaymentLinks:
    table, label = "billing_payment_link", "payment links sent to you"

    async def export(self, tenant_id, customer_id):
        invoices = await _invoices(tenant_id, customer_id)
        return [row_dict(r) for r in await PaymentLink.filter(tenant_id=tenant_id, invoice_id__in=list(invoices)).order_by("created_at")]

    async def plan(self, tenant_id, customer_id):
        invoices = await _invoices(tenant_id, customer_id)
        rows = await PaymentLink.filter(tenant_id=tenant_id, invoice_id__in=list(invoices))
        return [RecordRef(T, self.table, str(r.id), r.created_at, invoices[r.invoice_id].issued_on) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        pass  # ids, amounts and the gateway's status only; they go with their invoice


class Reminders:
    table, label = "billing_reminder", "payment reminders sent to you"

    async def export(self, tenant_id, customer_id):
        invoices = await _invoices(tenant_id, customer_id)
        rows = await BillingReminder.filter(tenant_id=tenant_id, invoice_id__in=list(invoices)).order_by("created_at")
        return [row_dict(r) for r in rows]

    async def plan(self, tenant_id, customer_id):
        invoices = await _invoices(tenant_id, customer_id)
        rows = await BillingReminder.filter(tenant_id=tenant_id, invoice_id__in=list(invoices))
        return [RecordRef(RecordCategory.TRAFFIC_LOG, self.table, str(r.id), r.created_at) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await BillingReminder.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()


class Subscriptions:
    table, label = "billing_subscription", "your subscriptions"

    async def export(self, tenant_id, customer_id):
        rows = await Subscription.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("created_at")
        return [row_dict(r) for r in rows]

    async def plan(self, tenant_id, customer_id):
        rows = await Subscription.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(T, self.table, str(r.id), r.created_at, r.current_period_start) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        pass  # plan, dates and states only; its invoices point at it


def mask(value: Any, privacy: PayloadPrivacy | None, needles: tuple[str, ...]) -> Any:
    """The payload with every personal value replaced by a keyed digest: what the gateway says
    is personal (``PayloadPrivacy``), and any text containing the person's details. For a
    gateway no loaded plugin provides any more (``privacy`` None), every text is masked."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if privacy and key in privacy.personal_keys and item not in (None, "", {}, []):
                out[key] = item if isinstance(item, str) and item.startswith("h:") else audit.personal(json.dumps(item, sort_keys=True))
            elif privacy and key in privacy.note_keys and isinstance(item, dict):
                out[key] = {k: (v if k in privacy.kept_notes else audit.personal(v)) for k, v in item.items()}
            else:
                out[key] = mask(item, privacy, needles)
        return out
    if isinstance(value, list):
        return [mask(v, privacy, needles) for v in value]
    if isinstance(value, str) and not value.startswith("h:") and (
            privacy is None or any(n and n.lower() in value.lower() for n in needles)):
        return audit.personal(value)
    return value


class GatewayEvents:
    """Webhook payloads naming the customer's invoices or payments, or their phone or email."""

    table, label = "billing_gateway_event", "what payment gateways told us about your payments"

    async def _rows(self, tenant_id, customer_id) -> list[GatewayEvent]:
        customer = await Customer.get_or_none(tenant_id=tenant_id, id=customer_id)
        invoices = await _invoices(tenant_id, customer_id)
        marks = {str(i) for i in invoices} | {i.number for i in invoices.values()}
        marks |= set(await Payment.filter(tenant_id=tenant_id, customer_id=customer_id, provider_payment_id__isnull=False)
                     .values_list("provider_payment_id", flat=True))
        if customer is not None:
            marks |= {v for v in (customer.phone, customer.email) if v}
        if not marks:
            return []
        found = []
        for row in await GatewayEvent.filter(tenant_id=tenant_id).order_by("created_at"):
            text = json.dumps(row.payload)
            if any(m in text for m in marks):
                found.append(row)
        return found

    async def export(self, tenant_id, customer_id):
        return [row_dict(r) for r in await self._rows(tenant_id, customer_id)]

    async def plan(self, tenant_id, customer_id):
        return [RecordRef(T, self.table, str(r.id), r.created_at, r.created_at.date()) for r in await self._rows(tenant_id, customer_id)]

    async def apply(self, tenant_id, customer_id, decisions):
        customer = await Customer.get_or_none(tenant_id=tenant_id, id=customer_id)
        needles: tuple[str, ...] = ()
        if customer is not None:
            phone = customer.phone or ""
            needles = tuple(v for v in (phone, phone[-10:] if len(phone) >= 10 else "", customer.email or "",
                                        customer.name if customer.erased_at is None else "") if v)
        await GatewayEvent.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()
        for row in await GatewayEvent.filter(tenant_id=tenant_id, id__in=_ids(decisions, *KEEP)):
            masked = mask(row.payload, payload_privacy(row.provider), needles)
            if masked != row.payload:
                await GatewayEvent.filter(id=row.id).update(payload=masked)


class CustomerTaxIds:
    """A business customer's GSTIN or BIN: part of the customer's profile (each invoice keeps
    its own copy as a tax record); erased with it."""

    table, label = "billing_customer_tax", "your tax registration"

    async def export(self, tenant_id, customer_id):
        return [row_dict(r) for r in await CustomerTax.filter(tenant_id=tenant_id, customer_id=customer_id)]

    async def plan(self, tenant_id, customer_id):
        rows = await CustomerTax.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(RecordCategory.PROFILE, self.table, str(r.id), r.created_at) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await CustomerTax.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE, Disposition.ANONYMISE)).delete()


class Credits:
    """Money the customer has with the tenant: a transaction record, with its reason masked on erasure."""

    table, label = "billing_credit", "your credits"

    async def export(self, tenant_id, customer_id):
        return [row_dict(r) for r in await Credit.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("created_at")]

    async def plan(self, tenant_id, customer_id):
        rows = await Credit.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(T, self.table, str(r.id), r.created_at, r.created_at.date()) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await Credit.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()


SOURCES = [Invoices(), InvoiceLines(), Payments(), Refunds(), PaymentLinks(), Reminders(), Subscriptions(), GatewayEvents(),
           CustomerTaxIds(), Credits()]
