"""Staff sign-in: passwords, sessions, access and refresh tokens, API keys, throttling,
verification codes and password resets.

Every request checks the state behind its credential (``authenticate``): an access token names
its session (claim ``sid``), and one indexed query reads the session, its user and the user's
tenant; an API key's query reads the key, its tenant and the user who created it. So an ended
session, a deactivated user, a changed role and a closed tenant take effect on the next request,
whatever the token's expiry says. The token's own role and tenant claims are informative only."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import F
from tortoise.models import Model
from tortoise.transactions import in_transaction

from seva_crm.core.platform import audit, ratelimit
from seva_crm.core.platform.ratelimit import Limit
from seva_crm.core.common.enums import Region, Role, SessionEndReason, VerificationPurpose
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.identity.sessions import end_session, end_user_sessions
from seva_crm.core.models import ApiKey, RefreshToken, Session, Tenant, User, VerificationCode
from seva_crm.core.messaging.notify import send_staff_code
from seva_crm.core.common.principal import Principal, TenantScope
from seva_crm.core.common.security import (
    api_key_prefix,
    constant_time_equal,
    decode_access_token,
    digest,
    hash_password,
    issue_access_token,
    new_code,
    new_token,
    password_needs_rehash,
    utcnow,
    uuid_or_none,
    verify_password,
)
from seva_crm.core.common.settings import get_settings
from seva_crm.core.identity import login_limits
from seva_crm.core.common.validation import check_password, normalize_phone

log = logging.getLogger("seva.auth")
LOGIN_ACCOUNT, LOGIN_IP = "login-account", "login-ip"  # failed sign-ins (core.ratelimit buckets)
RESET_ACCOUNT, RESET_IP = "reset-account", "reset-ip"  # password reset requests and failed codes
CODE_TTL = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
RESET_CODE_DIGITS = 8
LAST_USED_EVERY = timedelta(seconds=60)  # a session's last_used_at is written at most this often


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    user: User
    session_id: uuid.UUID


async def login(email: str, password: str, *, ip: str, user_agent: str = "") -> TokenPair:
    """Check the password and start a session. Attempts are throttled per client (account and IP),
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

    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active or _tenant_closed(user):
        await _audit_login(tenant_id, "auth.login_failed", user, account, ip, user_agent)
        raise DomainError.of(None, ErrorCode.INVALID_CREDENTIALS, "wrong email or password")

    await admission.succeeded()
    user.last_login_at = utcnow()
    fields = ["last_login_at"]
    if password_needs_rehash(user.password_hash):  # SEVA_PASSWORD_HASH_* changed since it was made
        user.password_hash = await hash_password(password)
        fields.append("password_hash")
    await user.save(update_fields=fields)
    now = utcnow()
    async with in_transaction():
        session = await Session.create(id=uuid.uuid4(), user_id=user.id, ip=ip[:64], user_agent=user_agent[:300], last_ip=ip[:64],
                                       last_used_at=now, expires_at=now + timedelta(days=get_settings().refresh_token_days))
        pair = await _issue(user, session.id)
        await _audit_login(tenant_id, "auth.login", user, account, ip, user_agent, session=session.id)
    return pair


async def _audit_login(tenant_id, action: str, user: User | None, account: str, ip: str, user_agent: str, session=None) -> None:
    actor = audit.Actor("user", str(user.id) if user else "", ip, user_agent[:300])
    details = {"account": "h:" + account[:32]} | ({"session": str(session)} if session else {})
    await audit.record(tenant_id, action, subject_type="user", subject_id=user.id if user else "", details=details, actor=actor)


async def refresh(refresh_token: str, *, ip: str = "") -> TokenPair:
    """Rotate a refresh token. Presenting an already-rotated token ends its whole session."""
    row = await RefreshToken.get_or_none(token_hash=digest(refresh_token)).select_related("user__tenant")
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise DomainError.of("refreshToken", ErrorCode.INVALID_TOKEN, "invalid or expired refresh token")
    session = await Session.get_or_none(id=row.family)
    if session is None:  # a sign-in from before sessions existed: it becomes one
        session, _ = await Session.get_or_create(id=row.family, defaults={"user_id": row.user_id, "last_used_at": now,
                                                                          "expires_at": row.expires_at})
    if session.revoked_at is not None:
        raise DomainError.of("refreshToken", ErrorCode.INVALID_TOKEN, "invalid or expired refresh token")
    claimed = await RefreshToken.filter(id=row.id, used_at=None).update(used_at=now)
    if not claimed:  # reuse: someone else already rotated this token
        await end_session(session, row.user.tenant_id, SessionEndReason.REFRESH_TOKEN_REUSE)
        raise DomainError.of("refreshToken", ErrorCode.INVALID_TOKEN, "invalid or expired refresh token")
    if not row.user.is_active or _tenant_closed(row.user):
        raise DomainError.of("refreshToken", ErrorCode.INVALID_TOKEN, "account disabled")
    pair = await _issue(row.user, session.id)
    await Session.filter(id=session.id).update(last_used_at=now, last_ip=ip[:64], expires_at=pair.refresh_expires_at)
    return pair


async def logout(refresh_token: str) -> None:
    """End the refresh token's session: every token rotated from the same sign-in, and the
    access tokens issued with them."""
    row = await RefreshToken.get_or_none(token_hash=digest(refresh_token)).select_related("user")
    if row is None:
        return
    session = await Session.get_or_none(id=row.family)
    if session is None:  # a sign-in from before sessions existed: only its tokens to revoke
        await RefreshToken.filter(family=row.family, revoked_at=None).update(revoked_at=utcnow())
        return
    here = audit.current_actor()
    await end_session(session, row.user.tenant_id, SessionEndReason.LOGOUT,
                      actor=audit.Actor("user", str(row.user_id), here.ip, here.user_agent))


async def _issue(user: User, session_id: uuid.UUID) -> TokenPair:
    settings = get_settings()
    tenant: Tenant | None = user.tenant
    claims = {
        "sub": str(user.id),
        "sid": str(session_id),
        "role": user.role.value,  # informative: every request reads the current role
        "su": user.is_superuser,
        "tid": str(tenant.id) if tenant else None,
        "reg": tenant.region.value if tenant else None,
    }
    access, access_exp = issue_access_token(claims, settings.access_token_minutes)
    token = new_token()
    refresh_exp = utcnow() + timedelta(days=settings.refresh_token_days)
    row = await RefreshToken.create(user_id=user.id, family=session_id, token_hash=digest(token), expires_at=refresh_exp)
    return TokenPair(access, access_exp, token, row.expires_at, user, session_id)


def _tenant_closed(user: User) -> bool:
    return user.tenant is not None and user.tenant.terminated_at is not None


# --- every request: the credential, and the current state behind it ---------------------------

_INVALID_TOKEN = "invalid or expired access token"


class StateQuery:
    """One SELECT by one key, with joins, as the ORM writes it, compiled once per process and
    database dialect and then run as plain parameterised SQL: building a joined query costs
    Tortoise about a millisecond of CPU, more than running it. Values come back as the models'
    fields convert them."""

    def __init__(self, model: type[Model], key: str, fields: tuple[str, ...]) -> None:
        self.model, self.key, self.fields = model, key, fields
        self._compiled: dict[str, tuple[str, list]] = {}

    def _field(self, path: str):
        model, *rels, name = (self.model, *path.split("__"))
        for rel in rels:
            model = model._meta.fields_map[rel].related_model
        return model._meta.fields_map[name]

    def _compile(self, dialect: str) -> tuple[str, list]:
        key_field = self._field(self.key)
        probe = uuid.UUID(int=0) if key_field.field_type is uuid.UUID else "0"
        sql = self.model.filter(**{self.key: probe}).values(*self.fields).sql()
        return sql, [(name, self._field(name)) for name in self.fields]

    async def first(self, value) -> dict | None:
        db = self.model._meta.db
        dialect = db.capabilities.dialect
        if dialect not in self._compiled:
            self._compiled[dialect] = self._compile(dialect)
        sql, columns = self._compiled[dialect]
        rows = await db.execute_query_dict(sql, [self._field(self.key).to_db_value(value, self.model)])
        if not rows:
            return None
        return {name: (None if rows[0][name] is None else field.to_python_value(rows[0][name])) for name, field in columns}


_SESSION_STATE = StateQuery(Session, "id", (
    "user_id", "revoked_at", "expires_at", "last_used_at", "user__is_active", "user__role", "user__is_superuser",
    "user__tenant_id", "user__tenant__region", "user__tenant__terminated_at"))
_KEY_STATE = StateQuery(ApiKey, "prefix", (
    "id", "key_hash", "role", "revoked_at", "expires_at", "tenant_id", "tenant__region", "tenant__terminated_at",
    "created_by_id", "created_by__is_active", "created_by__role"))


async def authenticate(authorization: str | None, *, ip: str = "") -> Principal | None:
    """The principal behind an ``Authorization: Bearer ...`` header; None if absent. Raises
    DomainError(INVALID_TOKEN) for a credential that is present but not valid now: badly signed,
    expired, of an ended session, of a deactivated user, of a closed tenant, or a revoked key.
    The role is the user's current one. ``ip`` is recorded as the session's last address."""
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
        raise DomainError.of(None, ErrorCode.INVALID_TOKEN, _INVALID_TOKEN)
    return await session_principal(claims, ip)


async def session_principal(claims: dict, ip: str = "") -> Principal:
    """One query by primary key (the session, its user and tenant joined; see StateQuery); plus,
    at most once a minute per session, an UPDATE of its last use."""
    sid, uid = uuid_or_none(claims.get("sid")), uuid_or_none(claims.get("sub"))
    if sid is None or uid is None:  # issued before sessions existed: refresh, or sign in again
        raise DomainError.of(None, ErrorCode.INVALID_TOKEN, _INVALID_TOKEN)
    state = await _SESSION_STATE.first(sid)
    now = utcnow()
    if (
        state is None
        or state["user_id"] != uid
        or state["revoked_at"] is not None
        or state["expires_at"] <= now
        or not state["user__is_active"]
        or state["user__tenant__terminated_at"] is not None
    ):
        raise DomainError.of(None, ErrorCode.INVALID_TOKEN, _INVALID_TOKEN)
    if now - state["last_used_at"] >= LAST_USED_EVERY:
        await Session.filter(id=sid, last_used_at=state["last_used_at"]).update(last_used_at=now, last_ip=ip[:64])
    tenant_id = state["user__tenant_id"]
    return Principal(
        user_id=uid,
        role=Role(state["user__role"]),
        tenant=TenantScope(tenant_id, Region(state["user__tenant__region"])) if tenant_id else None,
        is_superuser=bool(state["user__is_superuser"]),
        session_id=sid,
    )


async def _api_key_principal(prefix: str, key: str) -> Principal:
    """One query: the key, its tenant and its creator. A key made by a user acts with at most
    that user's current role, and stops while they are deactivated."""
    row = await _KEY_STATE.first(prefix)
    now = utcnow()
    if (
        row is None
        or not constant_time_equal(row["key_hash"], digest(key, "api-key"))
        or row["revoked_at"] is not None
        or (row["expires_at"] is not None and row["expires_at"] <= now)
        or row["tenant__terminated_at"] is not None
        or (row["created_by_id"] is not None and not row["created_by__is_active"])
    ):
        raise DomainError.of(None, ErrorCode.INVALID_TOKEN, "invalid, expired or revoked API key")
    role = Role(row["role"])
    if row["created_by_id"] is not None and Role(row["created_by__role"]).rank < role.rank:
        role = Role(row["created_by__role"])
    return Principal(user_id=None, role=role, tenant=TenantScope(row["tenant_id"], Region(row["tenant__region"])),
                     api_key_id=row["id"])


# --- changing and resetting one's password ------------------------------------------------------


async def change_password(caller: Principal, current_password: str, new_password: str) -> User:
    """The signed-in user changes their password, proving the current one (wrong guesses count
    against the account's sign-in throttle). Their other sessions end; this one stays."""
    if caller.user_id is None:
        raise DomainError.of(None, ErrorCode.FORBIDDEN, "an API key has no password")
    settings = get_settings()
    user = await User.get(id=caller.user_id)
    check_password(new_password, "newPassword")
    # counted before the check, in one atomic step (concurrent guesses cannot slip past the limit)
    if not await ratelimit.take(LOGIN_ACCOUNT, user.email, Limit(settings.login_max_failures_per_account,
                                                                 settings.login_window_seconds)):
        raise DomainError.of("currentPassword", ErrorCode.RATE_LIMITED, "too many wrong passwords; try again later")
    if not await verify_password(user.password_hash, current_password):
        await audit.record(user.tenant_id, "user.password_change_failed", subject_type="user", subject_id=user.id)
        raise DomainError.of("currentPassword", ErrorCode.INVALID_CREDENTIALS, "wrong password")
    await ratelimit.give_back(LOGIN_ACCOUNT, user.email)  # the right password is not a guess
    user.password_hash = await hash_password(new_password)
    async with in_transaction():
        await user.save(update_fields=["password_hash", "updated_at"])
        await audit.record(user.tenant_id, "user.password_changed", subject_type="user", subject_id=user.id,
                           changed=["password_hash"])
        await end_user_sessions(user, SessionEndReason.PASSWORD_CHANGED, keep=caller.session_id)
    return user


_deliveries: set[asyncio.Task] = set()


async def start_password_reset(email: str, via: VerificationPurpose = VerificationPurpose.EMAIL, *, ip: str) -> None:
    """Send a reset code to the account's verified email address (``via`` EMAIL) or verified phone
    (PHONE). Answers the same whether or not the account exists, is active, or has that address
    verified: the code is delivered after the answer, so its time does not tell either.
    Requests are limited per IP and per account, as failed sign-ins are."""
    settings = get_settings()
    email = (email or "").strip().lower()
    window = settings.login_window_seconds
    await ratelimit.hit(RESET_IP, ip, settings.login_max_failures_per_ip, window)
    await ratelimit.hit(RESET_ACCOUNT, email, settings.login_max_failures_per_client, window)
    user = await User.get_or_none(email=email).select_related("tenant") if email else None
    target = None
    if user is not None and user.is_active and not _tenant_closed(user):
        if via is VerificationPurpose.EMAIL and user.email_verified_at is not None:
            target = user.email
        elif via is VerificationPurpose.PHONE and user.phone and user.phone_verified_at is not None:
            target = user.phone
    await audit.record(user.tenant_id if user else None, "auth.password_reset_requested", subject_type="user",
                       subject_id=user.id if user else "",
                       details={"account": "h:" + digest(email, "login")[:32], "via": via.value, "sent": target is not None})
    if target is None:
        return
    code = new_code(RESET_CODE_DIGITS)
    async with in_transaction():
        await VerificationCode.filter(user_id=user.id, purpose=VerificationPurpose.PASSWORD_RESET,
                                      consumed_at=None).update(consumed_at=utcnow())
        await VerificationCode.create(user_id=user.id, purpose=VerificationPurpose.PASSWORD_RESET, target=target,
                                      code_hash=digest(code, "code"), expires_at=utcnow() + CODE_TTL)
    _deliver_later(user.id, target, code)


def _deliver_later(user_id, target: str, code: str) -> None:
    async def deliver() -> None:
        try:
            await send_staff_code(user_id, VerificationPurpose.PASSWORD_RESET, target, code)
        except Exception as exc:  # noqa: BLE001 - the caller has had its answer; the log says why
            log.warning("password reset code for user %s not delivered: %s", user_id, type(exc).__name__)

    task = asyncio.get_running_loop().create_task(deliver())
    _deliveries.add(task)
    task.add_done_callback(_deliveries.discard)


async def deliveries_settled() -> None:
    """Wait for reset codes still being delivered (tests; a graceful shutdown)."""
    while _deliveries:
        await asyncio.gather(*list(_deliveries), return_exceptions=True)


async def finish_password_reset(email: str, code: str, new_password: str, *, ip: str) -> User:
    """Set a new password with the code sent by ``start_password_reset``. Every failure gives the
    same answer (and counts against the IP); a code allows CODE_MAX_ATTEMPTS tries and expires in
    CODE_TTL. On success every session of the user ends."""
    settings = get_settings()
    email = (email or "").strip().lower()
    check_password(new_password, "newPassword")
    # every try is counted before the check, atomically; a successful one is given back
    if not await ratelimit.take(RESET_IP, ip, Limit(settings.login_max_failures_per_ip, settings.login_window_seconds)):
        raise DomainError.of(None, ErrorCode.RATE_LIMITED, "too many requests; try again later")
    wrong = DomainError.of("code", ErrorCode.INVALID, "wrong or expired code; request a new one")
    user = await User.get_or_none(email=email).select_related("tenant") if email else None
    row = None
    if user is not None and user.is_active and not _tenant_closed(user):
        row = await VerificationCode.filter(user_id=user.id, purpose=VerificationPurpose.PASSWORD_RESET,
                                            consumed_at=None).order_by("-created_at").first()
    if row is None or row.expires_at <= utcnow():
        raise wrong
    # the code's try is counted before the compare, by a guarded update (concurrent tries cannot exceed it)
    if not await VerificationCode.filter(id=row.id, attempts__lt=CODE_MAX_ATTEMPTS).update(attempts=F("attempts") + 1):
        raise wrong
    if not constant_time_equal(row.code_hash, digest((code or "").strip(), "code")):
        raise wrong
    password_hash = await hash_password(new_password)
    async with in_transaction():
        if not await VerificationCode.filter(id=row.id, consumed_at=None).update(consumed_at=utcnow()):
            raise wrong  # used by a concurrent request
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash", "updated_at"])
        await audit.record(user.tenant_id, "user.password_reset", subject_type="user", subject_id=user.id,
                           changed=["password_hash"], details={"via": "email" if "@" in row.target else "phone"})
        await end_user_sessions(user, SessionEndReason.PASSWORD_RESET)
    await ratelimit.give_back(RESET_IP, ip)
    return user


# --- verification of a staff member's email address and phone number -----------------------


async def start_verification(user_id, purpose: VerificationPurpose, phone: str | None = None) -> None:
    """Send a one-time code to the user's email, or to ``phone`` (which becomes theirs once confirmed)."""
    if purpose not in (VerificationPurpose.EMAIL, VerificationPurpose.PHONE):
        raise ValueError(f"not a verification of an address: {purpose}")
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
    if purpose not in (VerificationPurpose.EMAIL, VerificationPurpose.PHONE):
        raise ValueError(f"not a verification of an address: {purpose}")
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

