"""Adding staff by invitation. An admin invites an email address with a role; the address gets a
link; whoever holds it sets a password and joins. The admin's answer is the same whether or not
the address already has an account (sign-in is by email alone, so an address belongs to one
account on the whole instance): only the address's holder learns that, from the email, or when
accepting. So no tenant learns whether another tenant's staff (or an operator) use an address.

The token is a secret of the invitee: stored as a keyed digest, mailed after commit, never in an
API answer or a log line."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from urllib.parse import quote
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from seva_crm.core.common.enums import Role
from seva_crm.core.common.errors import DomainError, ErrorCode, Forbidden, NotFound
from seva_crm.core.common.principal import Principal
from seva_crm.core.common.security import digest, hash_password, new_token, utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.common.validation import check_password, collect, normalize_email, require_text
from seva_crm.core.messaging import mail
from seva_crm.core.models import Invitation, Tenant, User
from seva_crm.core.platform import audit

log = logging.getLogger("seva.invitations")
_deliveries: set[asyncio.Task] = set()
INVALID = "this invitation is not valid: it was used, withdrawn or has expired; ask for a new one"


def _optional_name(name: str) -> str:
    return require_text(name, "name", 200) if (name or "").strip() else ""


def _needs_admin(caller: Principal) -> None:
    if not caller.has_role(Role.ADMIN):
        raise Forbidden("requires the admin role or above in a tenant")


async def invite(caller: Principal, email: str, role: Role, name: str = "") -> Invitation:
    """Invite ``email`` to the caller's tenant with ``role`` (never above the caller's own). A
    pending invitation to the same address is replaced. Refused only for reasons the caller may
    know: the address is already a member of this tenant."""
    _needs_admin(caller)
    if role.rank > caller.role.rank:
        raise DomainError.of("role", ErrorCode.FORBIDDEN, "cannot grant a role above your own")
    email, name = collect(lambda: normalize_email(email).lower(), lambda: _optional_name(name))
    if mail.instance_server() is None and not get_settings().is_development:
        raise DomainError.of(None, ErrorCode.UNAVAILABLE, "invitations are sent by email, and this instance has no "
                             "SMTP server configured (SEVA_SMTP_*)")
    tenant_id = caller.tenant.id
    if await User.exists(tenant_id=tenant_id, email=email):
        raise DomainError.of("email", ErrorCode.DUPLICATE, "a member of this tenant already has this email address")
    token = new_token()
    now = utcnow()
    async with in_transaction():
        await Invitation.filter(tenant_id=tenant_id, email=email, accepted_at=None, revoked_at=None).update(revoked_at=now)
        invitation = await Invitation.create(
            tenant_id=tenant_id, email=email, name=name, role=role, token_hash=digest(token, "invitation"),
            invited_by_id=caller.user_id, expires_at=now + timedelta(days=get_settings().invitation_days),
        )
        await audit.record(tenant_id, "user.invited", subject_type="invitation", subject_id=invitation.id,
                           details={"role": role.value})
    _deliver_later(invitation.id, tenant_id, email, token)
    return invitation


async def revoke(caller: Principal, invitation_id: UUID) -> Invitation:
    _needs_admin(caller)
    invitation = await Invitation.get_or_none(id=invitation_id, tenant_id=caller.tenant.id)
    if invitation is None:
        raise NotFound("invitation")
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        await invitation.save(update_fields=["revoked_at", "updated_at"])
        await audit.record(invitation.tenant_id, "user.invitation_revoked", subject_type="invitation", subject_id=invitation.id)
    return invitation


def pending(caller: Principal):
    """The tenant's invitations not yet accepted, withdrawn or expired, newest first."""
    _needs_admin(caller)
    return Invitation.filter(tenant_id=caller.tenant.id, accepted_at=None, revoked_at=None,
                             expires_at__gt=utcnow()).order_by("-created_at", "-id")


async def accept(token: str, password: str, name: str = "") -> User:
    """Join the invitation's tenant with this password. The token proves the holder reads the
    invited address, so here (and only here) they are told if it already has an account."""
    name, _ = collect(lambda: _optional_name(name), lambda: check_password(password, "password"))
    async with in_transaction():
        invitation = await Invitation.filter(token_hash=digest(token or "", "invitation")).select_for_update().first()
        if (invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None
                or invitation.expires_at <= utcnow()):
            raise DomainError.of("token", ErrorCode.INVALID_TOKEN, INVALID)
        tenant = await Tenant.get(id=invitation.tenant_id)
        if tenant.terminated_at is not None:
            raise DomainError.of("token", ErrorCode.INVALID_TOKEN, INVALID)
        if await User.exists(email=invitation.email):
            raise DomainError.of("token", ErrorCode.DUPLICATE, "this email address already has an account: sign in with "
                                 "it, or ask to be invited at another address")
        try:
            user = await User.create(tenant_id=tenant.id, email=invitation.email, role=invitation.role,
                                     name=name or invitation.name, password_hash=await hash_password(password),
                                     email_verified_at=utcnow())  # the link reached this address
        except IntegrityError:
            raise DomainError.of("token", ErrorCode.DUPLICATE, "this email address already has an account") from None
        invitation.accepted_at = utcnow()
        invitation.user_id = user.id
        await invitation.save(update_fields=["accepted_at", "user_id", "updated_at"])
        await audit.record(tenant.id, "user.created", subject_type="user", subject_id=user.id,
                           details={"role": user.role.value, "invitation": str(invitation.id)},
                           actor=audit.Actor("user", str(user.id), audit.current_actor().ip, audit.current_actor().user_agent))
    return user


def accept_url(token: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/invitations/accept?token={quote(token)}"


def _message(tenant_name: str, email: str, token: str, taken: bool) -> tuple[str, str]:
    subject = f"You are invited to join {tenant_name} on Seva CRM"
    if taken:
        return subject, (f"Someone at {tenant_name} invited {email} to join them on Seva CRM, but this address already "
                         "has a Seva CRM account, and an address can hold only one. If you want to join them, ask them "
                         "to invite another address of yours. If you did not expect this, ignore this email.")
    days = get_settings().invitation_days
    return subject, (f"{tenant_name} invited you to join them on Seva CRM.\n\nTo accept, open this link and choose a "
                     f"password (it works for {days} days, once):\n\n{accept_url(token)}\n\n"
                     "If you did not expect this, ignore this email: nothing happens until the link is used.")


def _deliver_later(invitation_id: UUID, tenant_id: UUID, email: str, token: str) -> None:
    """Mail the invitation after the answer, so the time of the answer says nothing about the
    address; an address that already has an account gets a note instead of a link."""

    async def deliver() -> None:
        try:
            tenant = await Tenant.get(id=tenant_id).only("id", "name")
            subject, text = _message(tenant.name, email, token, taken=await User.exists(email=email))
            if await mail.send_staff_mail(email, subject, text):
                log.info("invitation %s mailed", invitation_id)
            elif get_settings().is_development:
                log.warning("development: no SMTP server; invitation %s can be accepted at %s", invitation_id,
                            accept_url(token))
            else:
                log.warning("invitation %s not mailed: no SMTP server is configured (SEVA_SMTP_*)", invitation_id)
        except Exception as exc:  # noqa: BLE001 - the caller has had its answer; the log says why
            log.warning("invitation %s not mailed: %s", invitation_id, type(exc).__name__)

    task = asyncio.get_running_loop().create_task(deliver())
    _deliveries.add(task)
    task.add_done_callback(_deliveries.discard)


async def deliveries_settled() -> None:
    """Wait for invitations still being mailed (tests; a graceful shutdown)."""
    while _deliveries:
        await asyncio.gather(*list(_deliveries), return_exceptions=True)
