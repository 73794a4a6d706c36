"""The owner of a closed tenant during the grace period, who can no longer sign in (sign-ins stop
at closure), proves who they are with their email and password on each call that exports or
reopens the tenant (``schema/tenant_lifecycle.py``). Checked and throttled exactly as a sign-in
(``core.identity.login_limits``); anyone else, a wrong password or an open tenant get the same
``INVALID_CREDENTIALS`` answer, so nothing tells whether an account or a closure exists."""

from __future__ import annotations

from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

from seva_crm.core.common.enums import Role
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.security import digest, verify_password
from seva_crm.core.identity import login_limits
from seva_crm.core.identity.auth import _audit_login
from seva_crm.core.models import User
from seva_crm.core.platform import audit


async def closed_tenant_owner(email: str, password: str, *, ip: str, user_agent: str = "") -> User:
    """The owner of a closed tenant, by their credentials (a failure is audited as a failed sign-in)."""
    email = (email or "").strip().lower()
    account = digest(email, "login")
    user = await User.get_or_none(email=email).select_related("tenant")
    tenant_id = user.tenant_id if user else None
    admission = await login_limits.admit(email, ip)
    if admission is None:
        await _audit_login(tenant_id, "auth.login_throttled", user, account, ip, user_agent)
        raise DomainError.of(None, ErrorCode.RATE_LIMITED, "too many failed sign-ins; try again later")
    ok = await verify_password(user.password_hash if user else None, password)
    if (not ok or user is None or not user.is_active or user.role is not Role.OWNER or user.tenant is None
            or user.tenant.terminated_at is None):
        await _audit_login(tenant_id, "auth.login_failed", user, account, ip, user_agent)
        raise DomainError.of(None, ErrorCode.INVALID_CREDENTIALS, "wrong email or password, or no closed tenant of yours")
    await admission.succeeded()
    return user


@asynccontextmanager
async def acting_as(user: User, ip: str, user_agent: str = "") -> AsyncIterator[None]:
    """Attribute the audit entries written inside the block to ``user``."""
    token = audit.set_actor(audit.Actor("user", str(user.id), ip, user_agent[:300]))
    try:
        yield
    finally:
        audit.reset_actor(token)
