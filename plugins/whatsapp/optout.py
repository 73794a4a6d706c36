"""Marketing opt-out and opt-in from WhatsApp, recorded in the consent ledger: an inbound
STOP / UNSUBSCRIBE (or बंद, বন্ধ), a ``user_preferences`` stop or error 131050 withdraw
marketing consent on **every channel** (one ledger entry with channel null: a customer who says
STOP expects no more offers, by WhatsApp or any other way); START (or a ``user_preferences``
resume) grants it again, with the evidence, for every channel except one the customer opted out
of on that channel itself (an SMS STOP, an email unsubscribe): a WhatsApp START does not undo
those. Service messages are not affected."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from seva_crm.plugin_api import ConsentSource, record_consent_given, record_consent_withdrawn

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


async def stop_marketing(tenant_id: UUID, customer_id: UUID, source: ConsentSource, evidence: dict[str, Any]) -> bool:
    """Withdraw marketing consent on every channel, if it is in force on any: repeats (a webhook
    delivered twice, 131050 on each queued offer) record nothing more."""
    return await record_consent_withdrawn(tenant_id, customer_id, via=CHANNEL, every_channel=True, source=source,
                                          evidence=evidence)


async def resume_marketing(tenant_id: UUID, customer_id: UUID, source: ConsentSource, evidence: dict[str, Any]) -> bool:
    """Grant marketing consent again for every channel except one the customer opted out of on
    that channel itself; the latest published notice applies. False where the ledger refuses it
    (a child, no published notice)."""
    return await record_consent_given(tenant_id, customer_id, via=CHANNEL, every_channel=True, source=source,
                                      evidence=evidence)
