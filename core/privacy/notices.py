"""Consent notices: versioned per tenant and language, checked against what the region requires
(DPDP Rule 3: itemised data, purposes, goods or services, links to withdraw consent, to exercise
rights and to complain to the Board, a contact; English or an Eighth Schedule language)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from seva_crm.core.platform import audit
from seva_crm.core.common.enums import Language
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError
from seva_crm.core.models import ConsentNotice
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.storage.transactions import transaction

ELEMENTS = {
    "personal_data": ("personalData", "the personal data collected, item by item"),
    "purposes": ("purposes", "the specified purposes"),
    "goods_services": ("goodsServices", "the goods or services the processing is for"),
    "withdraw_link": ("withdrawLink", "a link to withdraw consent"),
    "rights_link": ("rightsLink", "a link to exercise rights"),
    "complaint_link": ("complaintLink", "a link to complain to the Board"),
    "contact": ("contact", "a contact (officer or responsible person)"),
}
LINKS = ("withdraw_link", "rights_link", "complaint_link")


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    out = {
        "personal_data": [str(x).strip() for x in data.get("personal_data") or [] if str(x).strip()],
        "purposes": [str(x).strip() for x in data.get("purposes") or [] if str(x).strip()],
        "goods_services": (data.get("goods_services") or "").strip(),
        "contact": (data.get("contact") or "").strip(),
        "body": (data.get("body") or "").strip(),
    }
    for key in LINKS:
        out[key] = (data.get(key) or "").strip()
    return out


async def publish_notice(tenant: TenantScope, language: Language | str, data: dict[str, Any],
                         published_by: UUID | None = None) -> ConsentNotice:
    """Publish the next version of the tenant's notice in ``language``. A notice missing an
    element the region requires is refused, naming every missing item."""
    requirements = (await tenant_policy(tenant.id)).notice_requirements()
    language = Language(language).value
    values = _clean(data)
    errors = []
    if language not in requirements.languages:
        errors.append(FieldError("language", ErrorCode.INVALID,
                                 f"notices here must be in one of {', '.join(sorted(requirements.languages))} ({requirements.citation})"))
    missing = [key for key in sorted(requirements.elements) if not values.get(key)]
    for key in missing:
        field, what = ELEMENTS[key]
        errors.append(FieldError(field, ErrorCode.REQUIRED, f"missing: {what} ({requirements.citation})"))
    for key in LINKS:
        if values[key] and not values[key].startswith(("https://", "http://")):
            errors.append(FieldError(ELEMENTS[key][0], ErrorCode.INVALID, "must be an http(s) link"))
    if errors:
        raise DomainError(*errors)
    for _ in range(3):  # two publishers at once: the loser takes the next number
        latest = await latest_notice(tenant.id, language)
        version = (latest.version if latest else 0) + 1
        try:
            async with transaction():
                notice = await ConsentNotice.create(tenant_id=tenant.id, language=language, version=version,
                                                    published_by=published_by, **values)
                told = await _tell_consenting(tenant, notice, latest)
                await audit.record(tenant.id, "consent_notice.published", subject_type="consent_notice",
                                   subject_id=notice.id, details={"language": language, "version": version,
                                                                  "customers_told": told})
            return notice
        except IntegrityError:
            continue
    raise DomainError.of("language", ErrorCode.DUPLICATE, "another notice was published at the same time; try again")


async def _tell_consenting(tenant: TenantScope, notice: ConsentNotice, previous: ConsentNotice | None) -> int:
    """Tell each customer whose consent in force rests on an older version of the notice (in its
    language) that it changed, through the outbox; where its purposes grew, ask them again.
    Returns how many were told."""
    from seva_crm.core.models import Consent, Customer
    from seva_crm.core.privacy import notify

    if previous is None:
        return 0
    added = [p for p in notice.purposes if p not in (previous.purposes or [])]
    rows = await Consent.filter(tenant_id=tenant.id, notice_language=notice.language).order_by("created_at").values(
        "customer_id", "purpose", "channel", "granted", "notice_version")
    latest: dict[tuple, dict[str, Any]] = {}
    for row in rows:  # the newest entry per customer, purpose and channel is in force
        latest[(row["customer_id"], row["purpose"], row["channel"])] = row
    customers = sorted({k[0] for k, row in latest.items() if row["granted"] and row["notice_version"] != str(notice.version)},
                       key=str)
    live = set(await Customer.filter(id__in=customers, tenant_id=tenant.id, erased_at__isnull=True,
                                     deleted_at__isnull=True).values_list("id", flat=True))
    template = "privacy_notice_new_purposes" if added else "privacy_notice_updated"
    values = {"version": notice.version, **({"purposes": "; ".join(added)[:400]} if added else {})}
    for customer_id in customers:
        if customer_id in live:
            await notify.queue_to_customer(tenant.id, customer_id, template, values,
                                           key=f"privacy-notice:{notice.id}:{customer_id}")
    return len(live)


def lists_purpose(notice: ConsentNotice, purpose: str) -> bool:
    """Whether the notice names ``purpose``: an entry that is the purpose, or starts with it and a
    colon ("marketing: offers on new services")."""
    for entry in notice.purposes or []:
        entry = str(entry).strip().lower()
        if entry == purpose or entry.startswith(purpose + ":"):
            return True
    return False


async def latest_notice(tenant_id: UUID, language: str) -> ConsentNotice | None:
    return await ConsentNotice.filter(tenant_id=tenant_id, language=language).order_by("-version").first()


async def find_notice(tenant_id: UUID, language: str, version: int) -> ConsentNotice | None:
    return await ConsentNotice.get_or_none(tenant_id=tenant_id, language=language, version=version)
