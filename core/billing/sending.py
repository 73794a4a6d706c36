"""Sending an invoice's PDF to its customer through a channel that carries documents (email as
an attachment, WhatsApp as a document), as a service message through the outbox.

The outbox keeps only a reference (``invoice_pdf``: the invoice's id and the reader's language);
the PDF is rendered again when the message is sent (``core.messaging.attachments``), so no
document sits in the outbox and the customer gets the invoice as it is at that moment. A
channel that carries no documents (SMS) is refused here, with the reason."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from seva_crm.core.billing.notify import business_name, variables
from seva_crm.core.billing.pdf import invoice_pdf
from seva_crm.core.common.enums import InvoiceStatus
from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.customers.households import shared_phone
from seva_crm.core.messaging import attachments
from seva_crm.core.messaging.channel_registry import channels_for_tenant
from seva_crm.core.messaging.outbox import queue_message
from seva_crm.core.messaging.templates import get_template, render
from seva_crm.core.models import Customer, Invoice, Message
from seva_crm.core.platform import audit
from seva_crm.core.platform.channels import Attachment, Purpose, Recipient, carries_attachments
from seva_crm.core.storage.transactions import transaction

TEMPLATE = "invoice_document"
KIND = "invoice_pdf"
PDF = "application/pdf"


def filename(invoice: Invoice) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "_", invoice.number) + ".pdf"


@attachments.renderer(KIND)
async def _render(tenant_id: UUID, reference: dict[str, Any]) -> Attachment:
    invoice = await Invoice.get_or_none(id=reference.get("id"), tenant_id=tenant_id)
    if invoice is None:
        raise attachments.CannotRender("the invoice no longer exists")
    return Attachment(await invoice_pdf(invoice, reference.get("language")), filename(invoice), PDF)


async def send_invoice(tenant: TenantScope, invoice_id: UUID | None, channel: str | None = None) -> Message:
    """Queue the invoice's PDF to its customer, in the customer's language, on ``channel`` (a
    channel id or kind) or on the first of the tenant's channels that carries documents and
    reaches the customer. Audited as ``invoice.sent``."""
    invoice = await Invoice.get_or_none(id=invoice_id, tenant_id=tenant.id) if invoice_id else None
    if invoice is None:
        raise NotFound("invoice")
    if invoice.status in (InvoiceStatus.VOID, InvoiceStatus.DRAFT):
        raise DomainError.of("id", ErrorCode.INVALID, f"a {invoice.status.value} invoice is not sent to customers")
    customer = await Customer.get_or_none(id=invoice.customer_id, tenant_id=tenant.id)
    if customer is None or customer.deleted_at is not None:
        raise DomainError.of("id", ErrorCode.INVALID, "the invoice's customer no longer exists")
    recipient = Recipient(customer.id, customer.name, await shared_phone(customer), customer.email, customer.language.value)
    bindings = await channels_for_tenant(tenant.id)
    if channel:
        named = {name: b for name, b in bindings.items() if channel in (name, b.kind)}
        if not named:
            raise DomainError.of("channel", ErrorCode.INVALID, f"the business has no channel {channel!r} enabled")
        if not any(carries_attachments(b.adapter) for b in named.values()):
            raise DomainError.of("channel", ErrorCode.INVALID,
                                 f"{channel} cannot carry a document: send the invoice by email or WhatsApp")
        bindings = named
    if not any(carries_attachments(b.adapter) and b.adapter.can_reach(recipient) for b in bindings.values()):
        raise DomainError.of("channel", ErrorCode.UNAVAILABLE,
                             "no channel that carries documents reaches this customer (an email address for email, "
                             "a phone for WhatsApp)")

    language = customer.language.value
    template = await get_template(tenant.id, TEMPLATE)
    values = {"name": customer.name, "business": await business_name(tenant.id), **variables(invoice, language)}
    async with transaction():
        message = await queue_message(tenant.id, customer.id, purpose=Purpose.SERVICE, template=template.key,
                                      body=render(template, values, language), variables=values, only_channel=channel,
                                      attachment={"kind": KIND, "id": str(invoice.id), "language": language})
        await audit.record(tenant.id, "invoice.sent", subject_type="invoice", subject_id=invoice.id,
                           details={"number": invoice.number, "channel": channel or "", "message": str(message.id)})
    return message
