"""Staff sign-in: passwords, access and refresh tokens, API keys, throttling, verification codes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from seva_crm.core.common import audit
from seva_crm.core.common.enums import Region, Role, VerificationPurpose
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.models import ApiKey, RefreshToken, Tenant, User, VerificationCode
from seva_crm.core.messaging.notify import send_staff_code
from seva_crm.core.common.principal import Principal, TenantScope
from seva_crm.core.common.security import (
    api_key_prefix,
    constant_time_equal,
    decode_access_token,
    digest,
    issue_access_token,
    new_code,
    new_token,
    utcnow,
    uuid_or_none,
    verify_password,
)
from seva_crm.core.common.settings import get_settings
from seva_crm.core.identity import login_limits
from seva_crm.core.common.validation import normalize_phone

CODE_TTL = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    user: User


async def login(email: str, password: str, *, ip: str, user_agent: str = "") -> TokenPair:
    """Check the password and issue tokens. Attempts are throttled per client (account and IP),
    per account and per IP so that a stranger cannot lock the owner out (core.identity.login_limits).
    Every outcome is audited with the IP and user agent (the account as a keyed digest)."""
    email = email.strip().lower()
    account = digest(email, "login")
    user = await User.get_or_none(email=email).select_related("tenant")
    tenant_id = user.tenant_id if user else None
    admission = await login_limits.admit(email, ip)  # counted before the check, atomically
    if admission is None:
        await _audit_login(tenant_id, "auth.login_throttled", user, account, ip, user_agent)
        raise DomainError.of(None, ErrorCode.RATE_LIMITED, "too many failed sign-ins; try again later")

    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active or _tenant_closed(user):
        await _audit_login(tenant_id, "auth.login_failed", user, account, ip, user_agent)
        raise DomainError.of(None, ErrorCode.INVALID_CREDENTIALS, "wrong email or password")

    await admission.succeeded()
    user.last_login_at = utcnow()
    await user.save(update_fields=["last_login_at"])
    await _audit_login(tenant_id, "auth.login", user, account, ip, user_agent)
    return await _issue(user, family=None)


async def _audit_login(tenant_id, action: str, user: User | None, account: str, ip: str, user_agent: str) -> None:
    actor = audit.Actor("user", str(user.id) if user else "", ip, user_agent[:300])
    await audit.record(tenant_id, action, subject_type="user", subject_id=user.id if user else "",
                       details={"account": "h:" + account[:32]}, actor=actor)


async def refresh(refresh_token: str) -> TokenPair:
    """Rotate a refresh token. Presenting an already-rotated token revokes its whole family."""
    row = await RefreshToken.get_or_none(token_hash=digest(refresh_token)).select_related("user__tenant")
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise DomainError.of("refreshToken", ErrorCode.INVALID_TOKEN, "invalid or expired refresh token")
    claimed = await RefreshToken.filter(id=row.id, used_at=None).update(used_at=now)
    if not claimed:  # reuse: someone else already rotated this token
        await RefreshToken.filter(family=row.family).update(revoked_at=now)
        raise DomainError.of("refreshToken", ErrorCode.INVALID_TOKEN, "invalid or expired refresh token")
    if not row.user.is_active or _tenant_closed(row.user):
        raise DomainError.of("refreshToken", ErrorCode.INVALID_TOKEN, "account disabled")
    return await _issue(row.user, family=row.family)


async def logout(refresh_token: str) -> None:
    """Revoke the refresh token's family: every token rotated from the same sign-in."""
    row = await RefreshToken.get_or_none(token_hash=digest(refresh_token))
    if row is not None:
        await RefreshToken.filter(family=row.family, revoked_at=None).update(revoked_at=utcnow())


async def _issue(user: User, family) -> TokenPair:
    settings = get_settings()
    tenant: Tenant | None = user.tenant
    claims = {
        "sub": str(user.id),
        "role": user.role.value,
        "su": user.is_superuser,
        "tid": str(tenant.id) if tenant else None,
        "reg": tenant.region.value if tenant else None,
    }
    access, access_exp = issue_access_token(claims, settings.access_token_minutes)
    token = new_token()
    refresh_exp = utcnow() + timedelta(days=settings.refresh_token_days)
    row = await RefreshToken.create(
        user_id=user.id, family=family or uuid.uuid4(), token_hash=digest(token), expires_at=refresh_exp
    )
    return TokenPair(access, access_exp, token, row.expires_at, user)


def _tenant_closed(user: User) -> bool:
    return user.tenant is not None and user.tenant.terminated_at is not None


async def authenticate(authorization: str | None) -> Principal | None:
    """The principal behind an ``Authorization: Bearer ...`` header; None if absent.
    Raises DomainError(INVALID_TOKEN) for a token that is present but not valid."""
    if not authorization:
        return None
    scheme, _, credential = authorization.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise DomainError.of(None, ErrorCode.INVALID_TOKEN, "expected 'Authorization: Bearer <token>'")
    if (prefix := api_key_prefix(credential)) is not None:
        return await _api_key_principal(prefix, credential)
    claims = decode_access_token(credential)
    if claims is None:
        raise DomainError.of(None, ErrorCode.INVALID_TOKEN, "invalid or expired access token")
    tenant_id = uuid_or_none(claims.get("tid"))
    return Principal(
        user_id=uuid_or_none(claims["sub"]),
        role=Role(claims["role"]),
        tenant=TenantScope(tenant_id, Region(claims["reg"])) if tenant_id else None,
        is_superuser=bool(claims.get("su")),
    )


async def _api_key_principal(prefix: str, key: str) -> Principal:
    row = await ApiKey.get_or_none(prefix=prefix).select_related("tenant")
    now = utcnow()
    if (
        row is None
        or not constant_time_equal(row.key_hash, digest(key, "api-key"))
        or row.revoked_at is not None
        or (row.expires_at is not None and row.expires_at <= now)
        or row.tenant.terminated_at is not None
    ):
        raise DomainError.of(None, ErrorCode.INVALID_TOKEN, "invalid, expired or revoked API key")
    return Principal(
        user_id=None, role=row.role, tenant=TenantScope(row.tenant.id, row.tenant.region), api_key_id=row.id
    )


# --- verification of a staff member's email address and phone number -----------------------


async def start_verification(user_id, purpose: VerificationPurpose, phone: str | None = None) -> None:
    """Send a one-time code to the user's email, or to ``phone`` (which becomes theirs once confirmed)."""
    user = await User.get(id=user_id).select_related("tenant")
    if purpose is VerificationPurpose.EMAIL:
        target = user.email
    else:
        region = user.tenant.region if user.tenant else Region.IN
        target = normalize_phone(phone or user.phone or "", region)
    code = new_code()
    async with in_transaction():
        await VerificationCode.filter(user_id=user.id, purpose=purpose, consumed_at=None).update(consumed_at=utcnow())
        await VerificationCode.create(
            user_id=user.id, purpose=purpose, target=target, code_hash=digest(code, "code"), expires_at=utcnow() + CODE_TTL
        )
    await send_staff_code(user.id, purpose, target, code)


async def confirm_verification(user_id, purpose: VerificationPurpose, code: str) -> User:
    row = await VerificationCode.filter(user_id=user_id, purpose=purpose, consumed_at=None).order_by("-created_at").first()
    if row is None or row.expires_at <= utcnow():
        raise DomainError.of("code", ErrorCode.EXPIRED, "no valid code; request a new one")
    # counted (guarded) before the comparison: of concurrent tries exactly CODE_MAX_ATTEMPTS compare
    if not await VerificationCode.filter(id=row.id, attempts__lt=CODE_MAX_ATTEMPTS).update(attempts=F("attempts") + 1):
        raise DomainError.of("code", ErrorCode.TOO_MANY_ATTEMPTS, "too many attempts; request a new one")
    if not constant_time_equal(row.code_hash, digest(code.strip(), "code")):
        raise DomainError.of("code", ErrorCode.INVALID, "wrong code")
    user = await User.get(id=user_id)
    async with in_transaction():
        await VerificationCode.filter(id=row.id).update(consumed_at=utcnow())
        if purpose is VerificationPurpose.EMAIL:
            user.email_verified_at = utcnow()
            await user.save(update_fields=["email_verified_at"])
        else:
            user.phone, user.phone_verified_at = row.target, utcnow()
            await user.save(update_fields=["phone", "phone_verified_at"])
    return user

