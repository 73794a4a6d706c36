"""A customer's timeline: services, messages both ways, invoices, payments, tickets, consents and
notes in one list, newest first, paged with cursors (core.common.feed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from seva_crm.core.common.feed import Entry, Source, merged_page
from seva_crm.core.messaging.conversations import thread_sources
from seva_crm.core.models import Consent, CustomerNote, Invoice, Payment, ServiceRecord, Ticket


@dataclass(frozen=True)
class Event:
    kind: str  # service_record, message, inbound_message, invoice, payment, ticket, consent, note
    at: datetime
    subject_type: str  # the object's type, for its global id
    subject_id: UUID
    summary: str
    amount: int | None = None
    currency: str | None = None


def _source(model, time_field: str, tenant_id: UUID, customer_id: UUID, kind: str, describe) -> Source:
    async def load(before: datetime | None, limit: int) -> list[Entry]:
        qs = model.filter(tenant_id=tenant_id, customer_id=customer_id)
        qs = qs.filter(**{f"{time_field}__lte": before}) if before else qs
        rows = await qs.order_by(f"-{time_field}").limit(limit)
        return [Entry(getattr(r, time_field), kind, str(r.id), describe(r)) for r in rows]
    return load


def _service(r: ServiceRecord) -> Event:
    return Event("service_record", r.created_at, "ServiceRecord", r.id, f"{r.service_name}: {r.status.value.replace('_', ' ')}",
                 r.fee_amount, r.currency.value)


def _invoice(r: Invoice) -> Event:
    return Event("invoice", r.created_at, "Invoice", r.id, f"invoice {r.number}: {r.status.value}", r.total, r.currency.value)


def _payment(r: Payment) -> Event:
    return Event("payment", r.received_at, "Payment", r.id, f"payment by {r.method.value}: {r.status.value}", r.amount, r.currency.value)


def _ticket(r: Ticket) -> Event:
    return Event("ticket", r.created_at, "Ticket", r.id, f"ticket #{r.number} {r.subject}: {r.status.value.replace('_', ' ')}")


def _consent(r: Consent) -> Event:
    what = "granted" if r.granted else "withdrawn"
    return Event("consent", r.created_at, "Consent", r.id, f"{r.purpose} consent {what} ({r.channel or 'every channel'}, {r.source})")


def _note(r: CustomerNote) -> Event:
    return Event("note", r.created_at, "CustomerNote", r.id, r.body)


def _messages(tenant_id: UUID, customer_id: UUID) -> list[Source]:
    def wrap(source: Source) -> Source:
        async def load(before: datetime | None, limit: int) -> list[Entry]:
            out = []
            for e in await source(before, limit):
                m = e.item
                if e.kind == "out":
                    event = Event("message", e.at, "Message", m.id, f"{m.channel or 'message'} {m.template}: {m.status.value}")
                else:
                    event = Event("inbound_message", e.at, "InboundMessage", m.id, f"{m.channel}: {m.body[:500]}")
                out.append(Entry(e.at, e.kind, e.id, event))
            return out
        return load
    return [wrap(s) for s in thread_sources(tenant_id, customer_id)]


async def timeline(tenant_id: UUID, customer_id: UUID, first: int | None, after: str | None) -> tuple[list[Entry], bool]:
    """Entries whose ``item`` is an ``Event``, newest first, and whether more follow."""
    sources = [
        _source(ServiceRecord, "created_at", tenant_id, customer_id, "service_record", _service),
        _source(Invoice, "created_at", tenant_id, customer_id, "invoice", _invoice),
        _source(Payment, "received_at", tenant_id, customer_id, "payment", _payment),
        _source(Ticket, "created_at", tenant_id, customer_id, "ticket", _ticket),
        _source(Consent, "created_at", tenant_id, customer_id, "consent", _consent),
        _source(CustomerNote, "created_at", tenant_id, customer_id, "note", _note),
        *_messages(tenant_id, customer_id),
    ]
    return await merged_page(sources, first, after)
