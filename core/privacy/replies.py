"""Replies to data subjects: each outcome of their request (rejected; a correction applied or
refused; a grievance or other request answered) is sent through the outbox, in their language,
under the business's name, naming the tenant's privacy contact (DPDP Rule 9). A reply goes by
the kind of channel the subject's code went by, else by their usual channels; it is queued in the
transaction of the decision."""

from __future__ import annotations

from typing import Any

from seva_crm.core.models import PrivacyProfile, PrivacyRequest, Tenant
from seva_crm.core.platform import audit
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
