"""Data-subject requests: filing (by staff for a walk-in, or by the subject on the public
endpoint), identity verification (a code to the subject's phone or email, or staff in person),
approval, rejection, manual completion (correction, grievance, nomination), deadlines and
escalation. Every transition is audited. The automatic work is ``core.privacy.runner``."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from tortoise.expressions import F
from tortoise.queryset import QuerySet

from seva_crm.core.messaging import outbox
from seva_crm.core.platform import audit
from seva_crm.core.customers import customers
from seva_crm.core.platform import events
from seva_crm.core.customers.customers import get_customer
from seva_crm.core.jobs.schedule import HOUR, periodic
from seva_crm.core.common.enums import RequestStatus, RequestType
from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.models import Customer, PrivacyRequest, Tenant
from seva_crm.core.common.paging import SortKey, datetime_key
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.platform.channel_catalog import check_kind, loaded_channels
from seva_crm.core.privacy import notify, replies
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.platform.ratelimit import hit
from seva_crm.core.common.security import constant_time_equal, digest, new_code, new_token, utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.storage.transactions import after_commit, transaction
from seva_crm.core.common.validation import normalize_email, normalize_phone

log = logging.getLogger("seva.privacy")
T = TypeVar("T")
S = RequestStatus
CODE_TTL = timedelta(seconds=600)
CODE_MAX_ATTEMPTS = 3
AUTOMATIC = {RequestType.ACCESS, RequestType.PORTABILITY, RequestType.ERASURE, RequestType.CONSENT_WITHDRAWAL}
MANUAL = {RequestType.CORRECTION, RequestType.GRIEVANCE, RequestType.NOMINATION, RequestType.OBJECTION}
SYSTEM_FILED = frozenset({"inactivity", "purpose_served"})  # filed by the system's sweeps, not asked by anyone
CORRECTABLE = ("name", "phone", "email", "address", "date_of_birth", "preferred_channel", "language")

TRANSITIONS: dict[RequestStatus, set[RequestStatus]] = {
    S.RECEIVED: {S.IDENTITY_VERIFIED, S.REJECTED},
    S.IDENTITY_VERIFIED: {S.IN_PROGRESS, S.REJECTED},
    S.IN_PROGRESS: {S.COMPLETED, S.COMPLETED_WITH_RETENTION, S.FAILED, S.REJECTED},
    S.FAILED: {S.IN_PROGRESS, S.REJECTED},
    S.COMPLETED: set(),
    S.COMPLETED_WITH_RETENTION: set(),
    S.REJECTED: set(),
}

SORTS: dict[str, SortKey] = {
    "URGENCY": SortKey("queue_key", False),  # open requests first, earliest due (so overdue) first
    "CREATED_AT_DESC": datetime_key("created_at", True),
}


def queue_key(status: RequestStatus, due_at: datetime) -> str:
    """Sorts open requests before closed ones, each by deadline: overdue ones come first."""
    return ("1:" if status.is_closed else "0:") + f"{due_at.timestamp():017.6f}"


def days_left(request: PrivacyRequest, now: datetime | None = None) -> int:
    """Whole days until the deadline, rounded up; negative once overdue."""
    return math.ceil((request.due_at - (now or utcnow())).total_seconds() / 86400)


def is_overdue(request: PrivacyRequest, now: datetime | None = None) -> bool:
    return not S(request.status).is_closed and request.due_at < (now or utcnow())


async def transition(request: PrivacyRequest, to: RequestStatus, *, details: dict[str, Any] | None = None,
                     **values: Any) -> PrivacyRequest:
    """Move ``request`` to ``to`` (guarded, so two racing callers cannot both succeed) and audit it."""
    current = S(request.status)
    if to not in TRANSITIONS[current]:
        raise DomainError.of("id", ErrorCode.INVALID_TRANSITION, f"a {current.value} request cannot become {to.value}")
    values = {"status": to.value, "queue_key": queue_key(to, request.due_at), **values}
    if to.is_closed:
        values["completed_at"] = utcnow()
    async with transaction():
        moved = await PrivacyRequest.filter(id=request.id, status=current.value).update(**values, updated_at=utcnow())
        if not moved:
            raise DomainError.of("id", ErrorCode.INVALID_TRANSITION, "the request changed meanwhile; reload it")
        await audit.record(request.tenant_id, f"privacy_request.{to.value}", subject_type="privacy_request",
                           subject_id=request.id, changed=[k for k in values if k not in ("queue_key", "status")],
                           details={"from": current.value, "to": to.value, "kind": request.kind, **(details or {})})
        await events.emit(events.new_event(f"privacy_request.{to.value}", request.tenant_id, request.id,
                                           kind=request.kind, status=to.value, previous=current.value))
    request.update_from_dict(values)
    return request


async def get_request(tenant_id: UUID, request_id: UUID | None) -> PrivacyRequest:
    row = await PrivacyRequest.get_or_none(id=request_id, tenant_id=tenant_id) if request_id else None
    if row is None:
        raise NotFound("privacy request")
    return row


async def _allowed(tenant_id: UUID, kind: RequestType):
    policy = await tenant_policy(tenant_id)
    types = policy.request_types()
    if kind not in types:
        raise DomainError.of("type", ErrorCode.INVALID, f"{kind.value} requests do not apply under {policy.name}")
    return policy


async def _clean_changes(changes: dict[str, Any] | None, tenant: TenantScope) -> dict[str, Any]:
    changes = {k: v for k, v in (changes or {}).items() if v is not None}
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise DomainError.of("changes", ErrorCode.INVALID, f"cannot correct: {', '.join(unknown)}")
    if not changes:
        raise DomainError.of("changes", ErrorCode.REQUIRED, "say which fields to correct and to what")
    cleaned = await customers.validate(changes, tenant, partial=True)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in cleaned.items()}


async def create_request(
    tenant: TenantScope, customer_id: UUID | None, kind: RequestType, *, details: str = "",
    changes: dict[str, Any] | None = None, created_by: UUID | None = None, filed_via: str = "staff",
    reference: str | None = None, now: datetime | None = None, send_code_via: str | None = None,
) -> PrivacyRequest:
    """File a request for a customer. The deadline and its citation come from the tenant's policy.
    With ``send_code_via``, an identity code is queued in the same transaction (and sent once it
    commits): if it cannot be, nothing is filed, so a retry files exactly one request.

    Refused (``CONTACT_REQUIRED`` on ``contactName``) until the tenant named its privacy
    contact, whoever files it: every reply must name the contact (DPDP Rule 9). Only the
    system's own sweeps (``SYSTEM_FILED``: inactivity, purpose served) are not requests someone
    makes, and go ahead; their outcome names the business where no contact was named."""
    from seva_crm.core.privacy.public import require_contact

    kind = RequestType(kind)
    if filed_via not in SYSTEM_FILED and filed_via != "public":  # the public endpoint checked it before any lookup,
        await require_contact(tenant.id)  # for everyone alike (known subjects must not cost one query more)
    customer = await get_customer(tenant.id, customer_id, "customerId")
    if customer.erased_at is not None and kind is not RequestType.ERASURE:
        raise DomainError.of("customerId", ErrorCode.INVALID, "this customer's data was erased")
    policy = await _allowed(tenant.id, kind)
    values = await _clean_changes(changes, tenant) if kind is RequestType.CORRECTION else {}
    received = now or utcnow()
    deadline = policy.response_deadline(kind)
    due = received + deadline.value
    async with transaction():
        request = await PrivacyRequest.create(
            tenant_id=tenant.id, customer_id=customer.id, kind=kind.value, status=S.RECEIVED.value, filed_via=filed_via,
            reference_hash=digest(reference, "privacy-ref") if reference else None, details=(details or "").strip()[:5000],
            changes=values, received_at=received, due_at=due, due_citation=deadline.citation[:300],
            queue_key=queue_key(S.RECEIVED, due), created_by=created_by,
        )
        await audit.record(tenant.id, "privacy_request.received", subject_type="privacy_request", subject_id=request.id,
                           changed=sorted(values), details={"kind": kind.value, "via": filed_via, "customer": str(customer.id),
                                                            "due_at": due.isoformat(), "citation": deadline.citation})
        await events.emit(events.new_event("privacy_request.received", tenant.id, request.id, kind=kind.value,
                                           status=S.RECEIVED.value, due_at=due.isoformat()))
        if send_code_via is not None:
            request = await send_code(tenant, request.id, send_code_via)
    return request


# --- identity ------------------------------------------------------------------------------


EMAIL_KIND, PHONE_KIND = "email", "sms"  # the kinds of channel a code to an email, or a phone, goes by


def _address(customer: Customer, kind: str) -> str | None:
    return customer.email if kind == EMAIL_KIND else customer.phone


async def send_code(tenant: TenantScope, request_id: UUID | None, channel: str) -> PrivacyRequest:
    """Send a fresh code to the subject's phone or email on record (expires in 600 s, 3
    attempts), by a channel of the kind ``channel`` names (a kind, or a channel id: its kind)."""
    kind = check_kind(channel, loaded_channels(), "channel")
    return await _send_code(tenant, request_id, kind)


async def resend_for_subject(tenant: TenantScope, request: PrivacyRequest) -> PrivacyRequest:
    """A fresh code, to where the last one went, at any stage: to confirm the request, or to look
    up its status (the public endpoints)."""
    return await _send_code(tenant, request.id, request.code_channel, any_status=True)


async def _send_code(tenant: TenantScope, request_id: UUID | None, kind: str, any_status: bool = False) -> PrivacyRequest:
    request = await get_request(tenant.id, request_id)
    if S(request.status) is not S.RECEIVED and not any_status:
        raise DomainError.of("id", ErrorCode.INVALID_TRANSITION, "identity is already settled for this request")
    await _method_allowed(tenant.id, request, "otp")
    customer = await Customer.get(id=request.customer_id)
    address = _address(customer, kind)
    if not address:
        raise DomainError.of("channel", ErrorCode.INVALID, f"the customer has no {'email' if kind == EMAIL_KIND else 'phone'} on record")
    code = new_code()
    values = {"code_hash": digest(code, "privacy-code"), "code_channel": kind,
              "code_expires_at": utcnow() + CODE_TTL, "code_attempts": 0}
    async with transaction():  # the new code and its message commit together (sent after the commit)
        await PrivacyRequest.filter(id=request.id).update(**values)
        request.update_from_dict(values)
        await notify.send_subject_code(request, kind, address, code)
    return request


async def code_undelivered(message: Any) -> None:
    """A code no channel of its kind could send: a new code by the subject's other address on
    record (email for a phone, phone for an email), once; else the admins are alerted (and the
    audit log says so), so someone calls the subject."""
    parts = (message.idempotency_key or "").split(":")
    request = await PrivacyRequest.get_or_none(id=parts[1], tenant_id=message.tenant_id) if len(parts) == 3 else None
    if request is None or request.customer_id is None:
        return
    failed_kind = message.only_channel or request.code_channel
    other = EMAIL_KIND if failed_kind != EMAIL_KIND else PHONE_KIND
    customer = await Customer.get(id=request.customer_id)
    address = _address(customer, other)
    token = audit.set_actor(audit.SYSTEM)
    try:
        async with transaction():
            if message.template == "privacy_code" and address and customer.erased_at is None:
                code = new_code()
                values = {"code_hash": digest(code, "privacy-code"), "code_channel": other,
                          "code_expires_at": utcnow() + CODE_TTL, "code_attempts": 0}
                await PrivacyRequest.filter(id=request.id).update(**values)
                request.update_from_dict(values)
                await audit.record(request.tenant_id, "privacy_request.code_fallback", subject_type="privacy_request",
                                   subject_id=request.id, details={"failed": failed_kind, "now": other,
                                                                   "message": str(message.id)})
                await notify.send_subject_code(request, other, address, code, template="privacy_code_undelivered")
                return
            await audit.record(request.tenant_id, "privacy_request.code_undelivered", subject_type="privacy_request",
                               subject_id=request.id, details={"channel": failed_kind, "message": str(message.id)})
            await notify.notify_admins(request.tenant_id, "privacy_request.code_undelivered", "privacy_request", request.id,
                                       {"request": str(request.id), "channel": failed_kind})
    finally:
        audit.reset_actor(token)


outbox.on_failed("privacy_code", code_undelivered)
outbox.on_failed("privacy_code_undelivered", code_undelivered)


async def _method_allowed(tenant_id: UUID, request: PrivacyRequest, method: str) -> None:
    methods = (await tenant_policy(tenant_id)).identity_methods(RequestType(request.kind))
    if method not in methods.value:
        raise DomainError.of("id", ErrorCode.INVALID, f"identity cannot be verified by {method} here ({methods.citation})")


async def verify_code(tenant: TenantScope, request_id: UUID | None, code: str) -> PrivacyRequest:
    """The code the subject received confirms their identity. The code stays valid until it
    expires, for a status lookup (``core.privacy.public.status``)."""
    request = await get_request(tenant.id, request_id)
    if S(request.status) is not S.RECEIVED:
        raise DomainError.of("id", ErrorCode.INVALID_TRANSITION, "identity is already settled for this request")
    await check_code(request, code)
    return await transition(request, S.IDENTITY_VERIFIED, details={"method": "otp", "channel": request.code_channel},
                            verification_method="otp", verified_at=utcnow())


async def check_code(request: PrivacyRequest, code: str) -> None:
    """Compare ``code`` with the request's current one: expired, used up, or wrong is a DomainError."""
    if not request.code_hash or request.code_expires_at is None or request.code_expires_at <= utcnow():
        raise DomainError.of("code", ErrorCode.EXPIRED, "no valid code; send a new one")
    # the attempt is counted, guarded, before the code is compared: of concurrent tries exactly
    # CODE_MAX_ATTEMPTS are compared (a fresh code resets the count)
    counted = await PrivacyRequest.filter(id=request.id, code_hash=request.code_hash,
                                          code_attempts__lt=CODE_MAX_ATTEMPTS).update(code_attempts=F("code_attempts") + 1)
    if not counted:
        raise DomainError.of("code", ErrorCode.TOO_MANY_ATTEMPTS, "too many attempts; send a new code")
    if not constant_time_equal(request.code_hash, digest((code or "").strip(), "privacy-code")):
        await audit.record(request.tenant_id, "privacy_request.code_rejected", subject_type="privacy_request",
                           subject_id=request.id)
        raise DomainError.of("code", ErrorCode.INVALID, "wrong code")


async def verify_in_person(tenant: TenantScope, request_id: UUID | None, reason: str, staff_id: UUID | None) -> PrivacyRequest:
    """Staff confirm the subject's identity face to face; the reason (what they checked) is recorded."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError.of("reason", ErrorCode.REQUIRED, "say how the identity was checked")
    request = await get_request(tenant.id, request_id)
    await _method_allowed(tenant.id, request, "in_person")
    return await transition(request, S.IDENTITY_VERIFIED, details={"method": "in_person"},
                            verification_method="in_person", verification_note=reason[:1000], verified_at=utcnow(),
                            verified_by=staff_id, code_hash="", code_expires_at=None)


# --- decisions -----------------------------------------------------------------------------


async def approve(tenant: TenantScope, request_id: UUID | None) -> PrivacyRequest:
    """Start work on a verified request (or resume a failed one from the step that failed).
    Automatic kinds are enqueued for the ``privacy.run_request`` job once the approval commits
    (the request is returned in progress); manual kinds wait for ``complete``."""
    from seva_crm.core.privacy.runner import enqueue_run

    request = await get_request(tenant.id, request_id)
    resumed = S(request.status) is S.FAILED
    request = await transition(request, S.IN_PROGRESS, details={"resumed_at": request.step} if resumed else None,
                               failure="")
    if RequestType(request.kind) in AUTOMATIC:
        request_id = request.id
        after_commit(lambda: enqueue_run(request_id))
    return request


async def reject(tenant: TenantScope, request_id: UUID | None, reason: str) -> PrivacyRequest:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError.of("reason", ErrorCode.REQUIRED, "a rejection needs a reason the subject can read")
    request = await get_request(tenant.id, request_id)
    async with transaction():  # the reply is queued with the decision
        request = await transition(request, S.REJECTED, rejection_reason=reason[:2000])
        await replies.rejected(request, reason)
    return request


@dataclass
class Completion:
    response: str = ""  # the reply to the subject (grievance; any request)
    apply_fields: list[str] | None = None  # correction: the requested fields to apply
    refusal_reason: str = ""  # correction: why the other fields were not changed
    mark_disputed: bool = False  # correction: the subject disputes the refusal (where the region grants it)
    nominee: dict[str, str] | None = None  # nomination: name, relation, contact


async def complete(tenant: TenantScope, request_id: UUID | None, c: Completion) -> PrivacyRequest:
    """Finish a manual request: apply or refuse a correction, answer a grievance, record a nominee."""
    request = await get_request(tenant.id, request_id)
    kind = RequestType(request.kind)
    if kind not in MANUAL:
        raise DomainError.of("id", ErrorCode.INVALID, f"{kind.value} requests complete by themselves once approved")
    if S(request.status) is not S.IN_PROGRESS:
        raise DomainError.of("id", ErrorCode.INVALID_TRANSITION, "approve the request first")
    result: dict[str, Any] = {"contact": await _contact(tenant.id)}
    if kind is RequestType.CORRECTION:
        result |= await _correct(tenant, request, c)
    elif kind in (RequestType.GRIEVANCE, RequestType.OBJECTION):
        if not c.response.strip():
            raise DomainError.of("response", ErrorCode.REQUIRED, f"write the answer to the {kind.value}")
    elif kind is RequestType.NOMINATION:
        nominee = {k: (v or "").strip() for k, v in (c.nominee or {}).items() if k in ("name", "relation", "contact")}
        if not nominee.get("name") or not nominee.get("contact"):
            raise DomainError.of("nominee", ErrorCode.REQUIRED, "name the nominee and how to reach them")
        result["nominee"] = nominee
    async with transaction():  # the reply is queued with the decision
        request = await transition(request, S.COMPLETED, response=c.response.strip()[:5000], result=result, changes={},
                                   details={k: v for k, v in result.items() if k in ("applied", "refused_fields", "disputed")})
        if kind is RequestType.CORRECTION:
            await replies.corrected(request, result["applied"], result["refused_fields"], result["refusal_reason"])
        elif request.response:
            await replies.answered(request, request.response)
    return request


async def _correct(tenant: TenantScope, request: PrivacyRequest, c: Completion) -> dict[str, Any]:
    requested = dict(request.changes)
    apply = list(dict.fromkeys(c.apply_fields or []))
    unknown = [f for f in apply if f not in requested]
    if unknown:
        raise DomainError.of("applyFields", ErrorCode.INVALID, f"not requested: {', '.join(unknown)}")
    refused = [f for f in requested if f not in apply]
    if refused and not c.refusal_reason.strip():
        raise DomainError.of("refusalReason", ErrorCode.REQUIRED, "give written reasons for refusing a correction")
    if c.mark_disputed:
        mark = (await tenant_policy(tenant.id)).dispute_mark()
        if not mark.value:
            raise DomainError.of("markDisputed", ErrorCode.INVALID, f"no disputed mark here ({mark.citation})")
        if not refused:
            raise DomainError.of("markDisputed", ErrorCode.INVALID, "nothing was refused")
    if apply:
        await customers.update_customer(tenant, request.customer_id, {f: requested[f] for f in apply})
    if c.mark_disputed:
        customer = await Customer.get(id=request.customer_id)
        customer.disputed_fields = sorted(set(customer.disputed_fields) | set(refused))
        await customer.save(update_fields=["disputed_fields", "updated_at"])
        await audit.record(tenant.id, "customer.disputed", subject_type="customer", subject_id=customer.id, changed=refused)
    return {"applied": apply, "refused_fields": refused, "refusal_reason": c.refusal_reason.strip()[:2000],
            "disputed": c.mark_disputed}


async def _contact(tenant_id: UUID) -> dict[str, str]:
    from seva_crm.core.models import PrivacyProfile

    profile = await PrivacyProfile.get_or_none(tenant_id=tenant_id)
    return {"name": profile.contact_name, "email": profile.contact_email, "phone": profile.contact_phone} if profile else {}


# --- the public endpoint -------------------------------------------------------------------


PUBLIC_ANSWER = ("If we hold data for this phone number or email, we have sent a code to it. "
                 "Confirm your request with the code and this reference within 10 minutes.")


async def at_least(seconds: float, work: Awaitable[T]) -> T:
    """Run ``work``, then wait until ``seconds`` have passed since it started, whatever the
    outcome: the public endpoints take as long for a known subject as for an unknown one."""
    started = time.perf_counter()
    try:
        return await work
    finally:
        await asyncio.sleep(max(0.0, seconds - (time.perf_counter() - started)))


async def file_public(tenant_ref: str, identifier: str, kind: str, details: str, ip: str,
                      changes: dict[str, Any] | None = None) -> str:
    """A subject files a request themselves (``tenant_ref``: the tenant's slug or opaque id; a
    correction with ``changes``, field -> new value). Rate-limited per IP and per identifier;
    answers the same (a reference), in the same time (at least
    ``SEVA_PRIVACY_PUBLIC_MIN_SECONDS``), whether or not the person is known: everything that
    can be refused is checked before anyone is looked up. Returns the reference."""
    return await at_least(get_settings().privacy_public_min_seconds,
                           _file_public(tenant_ref, identifier, kind, details, ip, changes))


async def _file_public(tenant_ref: str, identifier: str, kind: str, details: str, ip: str,
                       changes: dict[str, Any] | None) -> str:
    from seva_crm.core.privacy.public import find_tenant, reply_contact

    settings = get_settings()
    window = settings.privacy_window_seconds
    await hit("privacy-ip", ip, settings.privacy_max_per_ip, window)
    tenant = await find_tenant(tenant_ref)
    await reply_contact(tenant.id)
    try:
        kind_value = RequestType((kind or "").strip().lower())
    except ValueError:
        raise DomainError.of("type", ErrorCode.INVALID, f"unknown request type {kind!r}") from None
    scope = TenantScope(tenant.id, tenant.region)
    if kind_value is RequestType.CORRECTION:
        if changes is not None and not isinstance(changes, dict):
            raise DomainError.of("changes", ErrorCode.INVALID, "an object of field names to new values")
        changes = await _clean_changes(changes, scope)
    identifier = (identifier or "").strip()
    if "@" in identifier:
        address, kind = normalize_email(identifier, "identifier").lower(), EMAIL_KIND
        match = Customer.filter(tenant_id=tenant.id, email__iexact=address)
    else:
        address, kind = normalize_phone(identifier, tenant.region, "identifier"), PHONE_KIND
        match = Customer.filter(tenant_id=tenant.id, phone=address)
    await hit("privacy-identifier", f"{tenant.id}:{address}", settings.privacy_max_per_identifier, window)
    policy = await _allowed(tenant.id, kind_value)
    if "otp" not in policy.identity_methods(kind_value).value:  # decided before looking anyone up
        raise DomainError.of("type", ErrorCode.INVALID, f"{kind_value.value} requests cannot be confirmed by code here")
    reference = new_token()
    customer = await match.filter(erased_at__isnull=True).first()
    if customer is not None:
        token = audit.set_actor(audit.Actor("subject", "", "", ""))
        try:  # one transaction: a code that cannot be queued leaves no request behind
            await create_request(scope, customer.id, kind_value, details=details, filed_via="public",
                                 reference=reference, send_code_via=kind, changes=changes)
        except DomainError as exc:  # answered like an unknown subject; logged without personal data
            log.warning("public privacy request for tenant %s not filed: %s", tenant.id,
                        ",".join(e.code.value for e in exc.errors))
        finally:
            audit.reset_actor(token)
    return reference


async def verify_public(reference: str, code: str, ip: str) -> None:
    """The subject confirms with the code. An unknown reference fails exactly like a wrong code,
    in the same time."""
    await at_least(get_settings().privacy_public_min_seconds, _verify_public(reference, code, ip))


async def _verify_public(reference: str, code: str, ip: str) -> None:
    from seva_crm.core.privacy.public import dummy_compare, wrong_code

    settings = get_settings()
    await hit("privacy-verify-ip", ip, settings.privacy_max_per_ip, settings.privacy_window_seconds)
    request = await PrivacyRequest.get_or_none(reference_hash=digest(reference or "", "privacy-ref"))
    if request is None:
        dummy_compare(code)
        raise wrong_code()
    tenant = await Tenant.get(id=request.tenant_id)
    token = audit.set_actor(audit.Actor("subject", "", "", ""))
    try:
        await verify_code(TenantScope(tenant.id, tenant.region), request.id, code)
    except DomainError:  # wrong, expired, used up, or already verified: one answer for all
        raise wrong_code() from None
    finally:
        audit.reset_actor(token)


# --- deadlines -----------------------------------------------------------------------------


OPEN = [s.value for s in S if not s.is_closed]


@periodic("privacy.escalate_overdue", every_seconds=HOUR)  # requests past their deadline
async def escalate_overdue(now: datetime) -> list[PrivacyRequest]:
    """Mark open requests past their deadline as escalated and alert the tenant's admins (once each)."""
    escalated = []
    for request in await PrivacyRequest.filter(status__in=OPEN, due_at__lt=now, escalated_at__isnull=True).order_by("due_at"):
        async with transaction():  # escalated only with its alert queued: a failure leaves it for the next run
            if not await PrivacyRequest.filter(id=request.id, escalated_at__isnull=True).update(escalated_at=now):
                continue  # another scheduler got it
            request.escalated_at = now
            await events.emit(events.new_event("privacy_request.escalated", request.tenant_id, request.id, kind=request.kind,
                                               status=request.status, due_at=request.due_at.isoformat()))
            await audit.record(request.tenant_id, "privacy_request.escalated", subject_type="privacy_request",
                               subject_id=request.id, changed=["escalated_at"], details={"due_at": request.due_at.isoformat()})
            await notify.notify_admins(request.tenant_id, "privacy_request.overdue", "privacy_request", request.id,
                                       {"request": str(request.id), "type": request.kind, "due_at": request.due_at.isoformat(),
                                        "citation": request.due_citation})
        escalated.append(request)
    return escalated


@dataclass
class RequestFilter:
    statuses: list[str] | None = None
    kinds: list[str] | None = None
    overdue: bool | None = None
    customer_id: UUID | None = None


def request_queryset(tenant_id: UUID, f: RequestFilter, now: datetime | None = None) -> QuerySet[PrivacyRequest]:
    qs = PrivacyRequest.filter(tenant_id=tenant_id)
    if f.statuses:
        qs = qs.filter(status__in=f.statuses)
    if f.kinds:
        qs = qs.filter(kind__in=f.kinds)
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    if f.overdue is True:
        qs = qs.filter(status__in=OPEN, due_at__lt=now or utcnow())
    elif f.overdue is False:
        from tortoise.expressions import Q

        qs = qs.filter(Q(status__not_in=OPEN) | Q(due_at__gte=now or utcnow()))
    return qs
