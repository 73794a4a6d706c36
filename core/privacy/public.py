"""What a data subject without an account can do, per tenant (found by its readable slug or its
opaque id): read how to make a request, file any request type the region allows (a correction
with the fields and new values), confirm it with the code sent to them, ask for a new code, and
look up where their request stands with its reference and a code.

Every answer is the same in shape, status and time for a known and an unknown subject: the work
done for an unknown one is the same (a digest compared against a dummy), and each answer takes
at least ``SEVA_PRIVACY_PUBLIC_MIN_SECONDS``. A wrong, expired, used-up or unknown code fails
with one and the same error."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from seva_crm.core.common.enums import RequestStatus, RequestType
from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import constant_time_equal, digest, new_token
from seva_crm.core.common.settings import get_settings
from seva_crm.core.models import PrivacyProfile, PrivacyRequest, Tenant
from seva_crm.core.platform import audit
from seva_crm.core.platform.ratelimit import hit
from seva_crm.core.privacy.policy import tenant_policy

WRONG_CODE = "wrong or expired code (or too many tries): ask for a new code with your reference"
RESEND_ANSWER = "If this reference is yours, a new code is on its way to the phone or email you gave."
_DUMMY = digest("no such request", "privacy-code")
SLUG_CHARS = re.compile(r"[^a-z0-9]+")


def wrong_code() -> DomainError:
    return DomainError.of("code", ErrorCode.INVALID, WRONG_CODE)


def dummy_compare(code: str) -> None:
    """The comparison an unknown reference would have cost, so it takes as long."""
    constant_time_equal(_DUMMY, digest((code or "").strip(), "privacy-code"))


# --- the tenant's public name -------------------------------------------------------------


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return SLUG_CHARS.sub("-", ascii_name.lower()).strip("-")[:48] or "centre"


async def ensure_slug(tenant: Tenant) -> str:
    """The tenant's slug, given on first need: its name in plain letters, numbered if taken."""
    if tenant.slug:
        return tenant.slug
    base = slugify(tenant.name)
    for n in range(1, 1000):
        candidate = base if n == 1 else f"{base}-{n}"
        if await Tenant.filter(slug=candidate).exists():
            continue
        try:
            if await Tenant.filter(id=tenant.id, slug__isnull=True).update(slug=candidate):
                tenant.slug = candidate
                return candidate
        except IntegrityError:  # taken meanwhile
            continue
        break
    tenant.slug = (await Tenant.get(id=tenant.id).only("id", "slug")).slug
    return tenant.slug


async def find_tenant(ref: str) -> Tenant:
    """A live tenant by slug or opaque id; NotFound otherwise (the same for both)."""
    ref = (ref or "").strip()
    tenant_id = from_global_id(ref, "Tenant") if ref else None
    tenant = await Tenant.get_or_none(id=tenant_id) if tenant_id else None
    if tenant is None and ref:
        tenant = await Tenant.get_or_none(slug=ref.lower()[:64])
    if tenant is None or tenant.terminated_at is not None:
        raise NotFound("tenant", "tenant")
    return tenant


CONTACT_REQUIRED = ("name the privacy contact (grievance officer) before taking privacy requests: a name and an email "
                    "or phone, in the privacy settings (privacyProfileUpdate: contactName and contactEmail or contactPhone); "
                    "every reply to the subject names it (DPDP Rule 9)")


async def named_contact(tenant_id: UUID) -> dict[str, str] | None:
    """The contact named in every reply (DPDP Rule 9): a name and an email or phone; None until
    the tenant set one."""
    profile = await PrivacyProfile.get_or_none(tenant_id=tenant_id)
    if profile is None or not profile.contact_name.strip() or not (profile.contact_email or profile.contact_phone):
        return None
    return {"name": profile.contact_name, "email": profile.contact_email, "phone": profile.contact_phone}


async def require_contact(tenant_id: UUID) -> dict[str, str]:
    """The contact, or the typed error every path that accepts a request (staff, import, any
    other but the public endpoint's) raises until the tenant named one."""
    contact = await named_contact(tenant_id)
    if contact is None:
        raise DomainError.of("contactName", ErrorCode.CONTACT_REQUIRED, CONTACT_REQUIRED)
    return contact


async def reply_contact(tenant_id: UUID) -> dict[str, str]:
    """The contact, or the public endpoint's refusal (the same for everyone, worded for the
    subject) until the tenant set one."""
    contact = await named_contact(tenant_id)
    if contact is None:
        raise DomainError.of("tenant", ErrorCode.UNAVAILABLE,
                             "this business has not named its privacy contact yet, so it cannot take requests here; "
                             "please ask at the counter")
    return contact


def contact_line(contact: dict[str, str]) -> str:
    return ", ".join(v for v in (contact.get("name"), contact.get("email"), contact.get("phone")) if v)


async def page(ref: str) -> dict[str, Any]:
    """What the tenant's public page says: who, how to ask, which identifier, which requests."""
    tenant = await find_tenant(ref)
    slug = await ensure_slug(tenant)
    policy = await tenant_policy(tenant.id)
    named = await named_contact(tenant.id)  # a name alone, or an address alone, takes no request
    contact = contact_line(named) if named else ""
    types = []
    for kind, cited in sorted(policy.request_types().items(), key=lambda kv: kv[0].value):
        if "otp" in policy.identity_methods(kind).value:
            types.append({"type": kind.value, "citation": cited.citation,
                          "deadline_days": policy.response_deadline(kind).value.days})
    base = get_settings().public_url
    return {"business": tenant.name, "slug": slug, "law": policy.name, "contact": contact,
            "accepting": bool(contact), "identifier": "the mobile number or email address this business has for you",
            "request_types": types, "file_url": f"{base}/privacy/requests", "verify_url": f"{base}/privacy/requests/verify",
            "resend_url": f"{base}/privacy/requests/resend", "status_url": f"{base}/privacy/requests/status",
            "page_url": f"{base}/privacy/t/{slug}"}


# --- resend and status --------------------------------------------------------------------


async def _by_reference(reference: str) -> PrivacyRequest | None:
    return await PrivacyRequest.get_or_none(reference_hash=digest(reference or "", "privacy-ref"))


async def resend_code(reference: str, ip: str) -> str:
    """A new code for the request ``reference`` names, to where its first code went. Limited per
    IP and per reference; answered alike, in the same time, whether or not the reference exists."""
    from seva_crm.core.privacy import requests

    return await requests.at_least(get_settings().privacy_public_min_seconds, _resend_code(reference, ip))


async def _resend_code(reference: str, ip: str) -> str:
    from seva_crm.core.privacy import requests

    settings = get_settings()
    await hit("privacy-resend-ip", ip, settings.privacy_max_per_ip, settings.privacy_window_seconds)
    await hit("privacy-resend-ref", digest(reference or "", "privacy-ref"), settings.privacy_max_per_identifier,
              settings.privacy_window_seconds)
    request = await _by_reference(reference)
    if request is None or request.customer_id is None or not request.code_channel:
        new_token()  # the work a code would have cost
        return RESEND_ANSWER
    tenant = await Tenant.get(id=request.tenant_id)
    token = audit.set_actor(audit.Actor("subject", "", "", ""))
    try:
        await requests.resend_for_subject(TenantScope(tenant.id, tenant.region), request)
    except DomainError:
        pass  # e.g. the subject's data was erased meanwhile: answered like anyone
    finally:
        audit.reset_actor(token)
    return RESEND_ANSWER


async def status(reference: str, code: str, ip: str) -> dict[str, Any]:
    """Where the request stands, for its subject (reference and a current code), in at least
    ``SEVA_PRIVACY_PUBLIC_MIN_SECONDS``."""
    from seva_crm.core.privacy import requests

    return await requests.at_least(get_settings().privacy_public_min_seconds, _status(reference, code, ip))


async def _status(reference: str, code: str, ip: str) -> dict[str, Any]:
    from seva_crm.core.privacy import requests

    settings = get_settings()
    await hit("privacy-status-ip", ip, settings.privacy_max_per_ip, settings.privacy_window_seconds)
    request = await _by_reference(reference)
    if request is None:
        dummy_compare(code)
        raise wrong_code()
    try:
        await requests.check_code(request, code)
    except DomainError:
        raise wrong_code() from None
    return status_view(request)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def status_view(request: PrivacyRequest) -> dict[str, Any]:
    state = RequestStatus(request.status)
    view: dict[str, Any] = {"type": RequestType(request.kind).value, "status": state.value,
                            "received_at": _iso(request.received_at), "due_at": _iso(request.due_at),
                            "completed_at": _iso(request.completed_at)}
    if state is RequestStatus.REJECTED:
        view["reason"] = request.rejection_reason
    if request.response:
        view["response"] = request.response
    if request.result.get("applied") is not None or request.result.get("refused_fields"):
        view["applied"] = request.result.get("applied", [])
        view["refused"] = request.result.get("refused_fields", [])
    return view
