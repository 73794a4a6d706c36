"""Marketing opt-out and opt-in from WhatsApp, into the privacy consent ledger (channel
``whatsapp``): an inbound STOP / UNSUBSCRIBE (or बंद, বন্ধ) and a ``user_preferences`` stop or
error 131050 withdraw; START (or a ``user_preferences`` resume) grants again, with the evidence.
Service messages are not affected."""

from __future__ import annotations

import logging
import re
from typing import Any
from uuid import UUID

from core.enums import ConsentSource
from core.errors import DomainError
from core.models import Tenant
from core.principal import TenantScope
from core.privacy import consent

log = logging.getLogger("seva.whatsapp")
PURPOSE = "marketing"
CHANNEL = "whatsapp"
STOP_WORDS = {"stop", "unsubscribe", "stop all", "बंद", "बंद करें", "বন্ধ", "বন্ধ করুন"}
START_WORDS = {"start", "resume", "शुरू", "शुरू करें", "চালু", "চালু করুন"}


def keyword(text: str) -> str | None:
    """"stop", "start" or None for an inbound text (a keyword alone, in any case and punctuation)."""
    words = re.sub(r"[\s\.!।॥,;:'\"-]+", " ", text or "").strip().casefold()
    if words in STOP_WORDS:
        return "stop"
    if words in START_WORDS:
        return "start"
    return None


async def _scope(tenant_id: UUID) -> TenantScope:
    tenant = await Tenant.get(id=tenant_id).only("id", "region")
    return TenantScope(tenant.id, tenant.region)


async def stop_marketing(tenant_id: UUID, customer_id: UUID, source: ConsentSource, evidence: dict[str, Any]) -> bool:
    try:
        await consent.withdraw(await _scope(tenant_id), customer_id, PURPOSE, CHANNEL, source=source, evidence=evidence)
    except DomainError as exc:
        log.warning("could not withdraw whatsapp marketing consent for customer %s: %s", customer_id, exc)
        return False
    return True


async def resume_marketing(tenant_id: UUID, customer_id: UUID, source: ConsentSource, evidence: dict[str, Any]) -> bool:
    """Grant again (the latest published notice applies); refused where the ledger refuses it
    (a child, no published notice): logged, nothing recorded."""
    try:
        await consent.grant(await _scope(tenant_id), customer_id, PURPOSE, CHANNEL, source=source, evidence=evidence)
    except DomainError as exc:
        log.warning("could not record whatsapp marketing consent for customer %s: %s", customer_id, exc)
        return False
    return True
