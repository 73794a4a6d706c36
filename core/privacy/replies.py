"""Replies to data subjects: each outcome of their request (rejected; a correction applied or
refused; a grievance or other request answered; an erasure done) is sent through the outbox, in their language,
under the business's name, naming the tenant's privacy contact (DPDP Rule 9). A reply goes by
the kind of channel the subject's code went by, else by their usual channels; it is queued in the
transaction of the decision.

An erasure (or a consent withdrawal, which erases too) removes the very phone and email the reply
must reach, so its first step notes the address, sealed (``address_for_reply``), and the reply
carries it sealed in the message (``core.messaging.sealed``, kind ``reply``): it leaves no trace
once sent."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from babel.dates import format_date

from seva_crm.core.common import crypto
from seva_crm.core.models import Customer, PrivacyProfile, PrivacyRequest, Tenant
from seva_crm.core.platform import audit
from seva_crm.core.messaging.outbox import queue_message
from seva_crm.core.messaging.templates import get_template, render
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.privacy import notify
from seva_crm.core.privacy.public import contact_line

MAX_QUOTED = 300  # staff's words quoted in a reply (the whole answer is in the status lookup)


def _quote(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED - 1] + "…"


async def contact_for_reply(tenant_id) -> str:
    """The privacy contact, else (a tenant that has not named one) the business itself."""
    profile = await PrivacyProfile.get_or_none(tenant_id=tenant_id)
    line = contact_line({"name": profile.contact_name, "email": profile.contact_email,
                         "phone": profile.contact_phone}) if profile else ""
    return line or (await Tenant.get(id=tenant_id).only("id", "name")).name


async def send(request: PrivacyRequest, template: str, values: dict[str, Any]) -> None:
    """Queue the reply ``template`` to the request's subject; audited with ids only."""
    if request.customer_id is None:
        return
    values = {"contact": await contact_for_reply(request.tenant_id), **values}
    channel = request.code_channel or None
    message = await notify.queue_to_subject(request, template, values, channel=channel,
                                            key=f"privacy-reply:{request.id}:{template}")
    await audit.record(request.tenant_id, "notification.queued", subject_type="privacy_request", subject_id=request.id,
                       details={"kind": "subject_reply", "template": template, "message": str(message.id)})


async def rejected(request: PrivacyRequest, reason: str) -> None:
    await send(request, "privacy_reply_rejected", {"reason": _quote(reason)})


async def corrected(request: PrivacyRequest, applied: list[str], refused: list[str], reason: str) -> None:
    await send(request, "privacy_reply_corrected", {"applied": ", ".join(applied) or "-",
                                                    "refused": ", ".join(refused) or "-",
                                                    "reason": _quote(reason) or "-"})


async def answered(request: PrivacyRequest, response: str) -> None:
    await send(request, "privacy_reply_answered", {"response": _quote(response)})


NOTHING = {"en": "nothing", "hi": "कुछ नहीं", "bn": "কিছু নয়"}
LOCALES = {"en": "en_IN", "hi": "hi_IN", "bn": "bn_BD"}


def _context(request: PrivacyRequest) -> str:
    return f"privacy-reply-to:{request.tenant_id}:{request.id}"


async def address_for_reply(request: PrivacyRequest, kinds: list[str]) -> str:
    """The subject's address for the outcome, sealed to this request ("" when they have none):
    the first of ``kinds`` (``email``, ``sms``) the customer has."""
    customer = await Customer.get(id=request.customer_id).only("id", "phone", "email")
    for kind in kinds:
        address = customer.email if kind == "email" else customer.phone
        if address:
            to = {"email" if kind == "email" else "phone": address, "kind": kind}
            return crypto.encrypt(json.dumps(to), _context(request))
    return ""


def kept_text(kept: list[dict[str, Any]], language: str) -> str:
    """What the law keeps, for the subject: each citation once, with the last date it keeps anything."""
    until: dict[str, str] = {}
    for entry in kept:
        citation = entry.get("citation") or entry.get("basis") or ""
        until[citation] = max(until.get(citation, ""), entry.get("retain_until") or "")
    parts = [f"{c} ({format_date(date.fromisoformat(u), 'medium', locale=LOCALES.get(language, 'en_IN'))})" if u else c
             for c, u in until.items() if c]
    return "; ".join(parts) or NOTHING.get(language, NOTHING["en"])


async def erased(request: PrivacyRequest, sealed_address: str, kept: list[dict[str, Any]]) -> None:
    """Tell the subject their data was erased and what the law keeps, at the address noted before."""
    if not sealed_address:
        return
    to = json.loads(crypto.decrypt(sealed_address, _context(request)))
    kind = to.pop("kind")
    customer = await Customer.get(id=request.customer_id).only("id", "language")
    language = customer.language.value
    template = await get_template(request.tenant_id, "privacy_reply_erased")
    values = {"business": await notify.business_name(request.tenant_id), "contact": await contact_for_reply(request.tenant_id),
              "kept": _quote(kept_text(kept, language))}
    message = await queue_message(request.tenant_id, request.customer_id, purpose=Purpose.SERVICE, template=template.key,
                                  body=render(template, values, language), variables=values, only_channel=kind,
                                  idempotency_key=f"privacy-reply:{request.id}:erased", secret="reply", sealed_to=to)
    await audit.record(request.tenant_id, "notification.queued", subject_type="privacy_request", subject_id=request.id,
                       details={"kind": "subject_reply", "template": template.key, "channel": kind,
                                "message": str(message.id)})
