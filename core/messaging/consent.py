"""The consent decision the outbox needs, from the consent ledger (``Consent`` rows, written by
``core.privacy.consent``). Consent is per kind of channel (``core.platform.channels``): an entry
names a kind ("sms", "whatsapp", "email", ...) or none (every channel); the newest entry for the
kind or for every channel is in force, and with none consent is not given.

Whether a customer counts as a child, and which purposes the region keeps from children, is the
privacy engine's to say: it registers that rule here (``set_child_rule``). Until it has, nothing
but service messages goes to a customer whose date of birth is recorded."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from uuid import UUID

from tortoise.expressions import Q

from seva_crm.core.models import Consent, Customer

log = logging.getLogger("seva.outbox")
SERVICE = "service"

# (tenant id, customer, purpose) -> whether the purpose is closed to this customer as a child
ChildRule = Callable[[UUID, Customer, str], Awaitable[bool]]
_child_rule: ChildRule | None = None


def set_child_rule(rule: ChildRule) -> None:
    global _child_rule
    _child_rule = rule


async def has_consent(tenant_id: UUID, customer_id: UUID, purpose: str, kind: str | None) -> bool:
    """Whether consent for ``purpose`` on channels of ``kind`` is in force: the newest entry for
    that kind or for every channel decides (``kind`` None: only every-channel entries count)."""
    query = Consent.filter(tenant_id=tenant_id, customer_id=customer_id, purpose=purpose)
    query = query.filter(Q(channel=kind) | Q(channel__isnull=True)) if kind else query.filter(channel__isnull=True)
    latest = await query.order_by("-created_at", "-id").first()
    return bool(latest and latest.granted)


async def may_send(tenant_id: UUID, customer: Customer, purpose: str, kind: str) -> bool:
    """The outbox's check before each channel (of ``kind``): service messages need no consent;
    anything else needs consent in force for the kind, and never goes to a child for a purpose
    the region restricts for children (marketing, profiling), whatever the ledger says."""
    purpose = str(getattr(purpose, "value", purpose))
    if purpose == SERVICE:
        return True
    if not await has_consent(tenant_id, customer.id, purpose, kind):
        return False
    if customer.date_of_birth is None:
        return True  # treated as an adult
    if _child_rule is None:
        log.error("no child rule is registered (core.privacy not loaded): %s message withheld", purpose)
        return False
    return not await _child_rule(tenant_id, customer, purpose)
