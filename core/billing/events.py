"""Domain events from billing (subscription and payment changes), for plugins to act on.

SEAM: wired to ``core.events`` at merge (which delivers them after commit through the
``seva_domain_event`` hook, to tenants that enabled each plugin). Until then ``emit`` logs the
event (ids and states only, never personal data) and calls the in-process ``LISTENERS``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

from core.plugin_types import DomainEvent
from core.security import utcnow

log = logging.getLogger("seva.billing")
LISTENERS: list[Callable[[DomainEvent], None]] = []

SUBSCRIPTION_SUSPENDED = "subscription.suspended"  # an ISP plugin cuts the connection here
SUBSCRIPTION_REACTIVATED = "subscription.reactivated"
SUBSCRIPTION_CHANGED = "subscription.changed"
PAYMENT_RECORDED = "payment.recorded"
PAYMENT_REFUNDED = "payment.refunded"
INVOICE_PAID = "invoice.paid"


def emit(name: str, tenant_id: UUID, subject_id: UUID, **data: Any) -> None:
    """Call after the change committed. ``data`` holds ids and states only."""
    event = DomainEvent(name=name, tenant_id=tenant_id, subject_id=subject_id, data=data, occurred_at=utcnow())
    log.info("domain event %s subject=%s", name, subject_id)
    for listener in list(LISTENERS):
        listener(event)
