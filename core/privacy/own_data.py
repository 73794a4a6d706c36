"""Staff and owners are data subjects too (of the operator, and of their tenant): each can get a
copy of their own account's data and erase their account. An owner of a live tenant cannot erase
themselves (the tenant needs its owner: close it, or hand ownership on, first). Erasing
deactivates the account, ends its sessions and revokes its API keys, and replaces what names the
person (name, email, phone, sign-in addresses) with placeholders; the audit log keeps the
account's id, as it keeps every actor's."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from seva_crm.core.common.enums import Role, SessionEndReason
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.security import digest, new_token, utcnow
from seva_crm.core.models import ApiKey, Session, Tenant, User
from seva_crm.core.platform import audit
from seva_crm.core.storage.transactions import transaction


def _iso(value) -> str | None:
    return value.isoformat() if value else None


async def _me(user_id: UUID | None) -> User:
    user = await User.get_or_none(id=user_id, is_active=True) if user_id else None
    if user is None:
        raise DomainError.of(None, ErrorCode.FORBIDDEN, "only a signed-in member of staff has account data (not an API key)")
    return user


async def export_own(user_id: UUID | None) -> dict[str, Any]:
    """Everything the instance holds about the caller's account (audited)."""
    user = await _me(user_id)
    tenant = await Tenant.get_or_none(id=user.tenant_id) if user.tenant_id else None
    sessions = await Session.filter(user_id=user.id).order_by("created_at")
    keys = await ApiKey.filter(created_by_id=user.id).order_by("created_at")
    await audit.record(user.tenant_id, "user.data_exported", subject_type="user", subject_id=user.id)
    return {
        "account": {"id": str(user.id), "name": user.name, "email": user.email, "phone": user.phone,
                    "role": Role(user.role).value, "tenant": tenant.name if tenant else None,
                    "created_at": _iso(user.created_at), "email_verified_at": _iso(user.email_verified_at),
                    "phone_verified_at": _iso(user.phone_verified_at), "last_login_at": _iso(user.last_login_at)},
        "sessions": [{"started_at": _iso(s.created_at), "last_used_at": _iso(s.last_used_at), "ip": s.ip,
                      "last_ip": s.last_ip, "user_agent": s.user_agent, "ended_at": _iso(s.revoked_at),
                      "ended_because": s.revoked_reason.value if s.revoked_reason else None} for s in sessions],
        "api_keys_created": [{"name": k.name, "role": Role(k.role).value, "created_at": _iso(k.created_at),
                              "revoked_at": _iso(k.revoked_at)} for k in keys],
    }


async def erase_own(user_id: UUID | None, confirm_email: str) -> None:
    """Erase the caller's account; ``confirm_email`` must be its email."""
    user = await _me(user_id)
    if (confirm_email or "").strip().lower() != user.email.lower():
        raise DomainError.of("confirmEmail", ErrorCode.INVALID, "type your account's email to confirm")
    if Role(user.role) is Role.OWNER and user.tenant_id is not None:
        tenant = await Tenant.get(id=user.tenant_id)
        if tenant.terminated_at is None:
            raise DomainError.of(None, ErrorCode.FORBIDDEN,
                                 f"you own {tenant.name}, which is open: an owner of a live tenant cannot erase their "
                                 "account (close the tenant, or make someone else its owner, first)")
    now = utcnow()
    async with transaction():
        await User.filter(id=user.id).update(
            is_active=False, name="Erased account", email=f"erased-{user.id.hex}@erased.invalid", phone=None,
            password_hash="erased:" + digest(new_token(), "erased-account"), email_verified_at=None, phone_verified_at=None, updated_at=now)
        await Session.filter(user_id=user.id, revoked_at__isnull=True).update(
            revoked_at=now, revoked_reason=SessionEndReason.USER_DEACTIVATED)
        await Session.filter(user_id=user.id).update(ip="", last_ip="", user_agent="")
        await ApiKey.filter(created_by_id=user.id, revoked_at__isnull=True).update(revoked_at=now)
        await audit.record(user.tenant_id, "user.erased", subject_type="user", subject_id=user.id,
                           changed=["name", "email", "phone", "password", "sessions"])
