"""Domain events from billing (subscription and payment changes), for plugins to act on.

``emit`` hands them to ``core.events``, which delivers them through the ``seva_domain_event``
hook to the plugins each tenant enabled, only after the change committed (inside
``core.transactions.transaction()`` it waits for the commit). Subscription and payment events
are emitted inside the transaction of their change, so what core writes for them there (webhook
deliveries, status-rule messages: ``core.platform.events.listen_in_transaction``) commits with the
change, or neither does. Events carry ids and states only, never personal data."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from seva_crm.core.platform import events as core_events

SUBSCRIPTION_SUSPENDED = "subscription.suspended"  # an ISP plugin cuts the connection here
SUBSCRIPTION_REACTIVATED = "subscription.reactivated"
SUBSCRIPTION_CHANGED = "subscription.changed"
PAYMENT_RECORDED = "payment.recorded"
PAYMENT_REFUNDED = "payment.refunded"
INVOICE_PAID = "invoice.paid"


async def emit(name: str, tenant_id: UUID, subject_id: UUID, **data: Any) -> None:
    """Emit a billing event (delivered after commit). ``data`` holds ids and states only."""
    await core_events.emit(core_events.new_event(name, tenant_id, subject_id, **data))
