"""Marketing opt-out and opt-in from WhatsApp, into the privacy consent ledger: an inbound
STOP / UNSUBSCRIBE (or बंद, বন্ধ), a ``user_preferences`` stop or error 131050 withdraw
marketing consent on **every channel** (one ledger entry with channel null: a customer who says
STOP expects no more offers, by WhatsApp or any other way); START (or a ``user_preferences``
resume) grants it again, with the evidence, for every channel except one the customer opted out
of on that channel itself (an SMS STOP, an email unsubscribe): a WhatsApp START does not undo
those. Service messages are not affected."""

from __future__ import annotations

import logging
import re
from typing import Any
from uuid import UUID

from seva_crm.core.common.enums import ConsentSource
from seva_crm.core.common.errors import DomainError
from seva_crm.core.models import Consent, Tenant
from seva_crm.core.platform.channel_catalog import loaded_channels
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.privacy import consent

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
    """Withdraw marketing consent on every channel (channel null), if it is in force on any:
    repeats (a webhook delivered twice, 131050 on each queued offer) record nothing more."""
    if not any(row.purpose == PURPOSE for row in await consent.in_force(tenant_id, customer_id)):
        return False
    try:
        await consent.withdraw(await _scope(tenant_id), customer_id, PURPOSE, None, source=source,
                               evidence={**evidence, "via": CHANNEL})
    except DomainError as exc:
        log.warning("could not withdraw marketing consent for customer %s: %s", customer_id, exc)
        return False
    return True


async def opted_out_elsewhere(tenant_id: UUID, customer_id: UUID) -> set[str]:
    """Kinds of channel (other than WhatsApp) whose own latest marketing entry is a withdrawal not
    since overridden by an every-channel grant: the customer stopped marketing on that kind itself."""
    state: dict[str, bool] = {}
    rows = await Consent.filter(tenant_id=tenant_id, customer_id=customer_id, purpose=PURPOSE).order_by("created_at", "id")
    for row in rows:
        if row.channel is None:
            if row.granted:  # granted for every channel afterwards: earlier channel opt-outs are over
                state.clear()
            continue  # an every-channel withdrawal keeps each channel's own choice underneath it
        state[row.channel] = row.granted
    return {channel for channel, granted in state.items() if not granted and channel != CHANNEL}


async def resume_marketing(tenant_id: UUID, customer_id: UUID, source: ConsentSource, evidence: dict[str, Any]) -> bool:
    """Grant again for every channel (one entry with channel null), or, where the customer opted
    out on another kind of channel itself, for each other kind the loaded plugins provide; the
    latest published notice applies. Refused where the ledger refuses it (a child, no published notice): logged, nothing
    recorded."""
    scope = await _scope(tenant_id)
    evidence = {**evidence, "via": CHANNEL}
    excluded = await opted_out_elsewhere(tenant_id, customer_id)
    channels: list[str | None] = [None]
    if excluded:
        channels = sorted({info.kind for info in loaded_channels().values()} - excluded)
    try:
        for channel in channels:
            await consent.grant(scope, customer_id, PURPOSE, channel, source=source, evidence=evidence)
    except DomainError as exc:
        log.warning("could not record marketing consent for customer %s: %s", customer_id, exc)
        return False
    return True
