"""Sign-in sessions of staff: one per login, holding its family of refresh tokens. Listing them,
and ending them (one, or all of a user's); every end is in the audit log with its actor."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from seva_crm.core.platform import audit
from seva_crm.core.common.enums import SessionEndReason
from seva_crm.core.common.errors import NotFound
from seva_crm.core.common.principal import Principal
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.jobs.schedule import DAY, periodic
from seva_crm.core.identity.guards import managed_user
from seva_crm.core.models import RefreshToken, Session, User


async def end(query: QuerySet[Session], reason: SessionEndReason, now: datetime | None = None) -> list[UUID]:
    """End the open sessions ``query`` selects, and their refresh tokens; returns their ids.
    Their access tokens stop working on the next request (core.identity.auth.authenticate)."""
    now = now or utcnow()
    ids = list(await query.filter(revoked_at=None).values_list("id", flat=True))
    if ids:
        await Session.filter(id__in=ids, revoked_at=None).update(revoked_at=now, revoked_reason=reason)
        await RefreshToken.filter(family__in=ids, revoked_at=None).update(revoked_at=now)
    return ids


async def end_user_sessions(user: User, reason: SessionEndReason, *, keep: UUID | None = None) -> list[UUID]:
    """End every open session of ``user`` (but ``keep``), recorded as one audit entry."""
    query = Session.filter(user_id=user.id)
    if keep is not None:
        query = query.exclude(id=keep)
    ended = await end(query, reason)
    if ended:
        await audit.record(user.tenant_id, "user.sessions_revoked", subject_type="user", subject_id=user.id,
                           details={"reason": reason.value, "count": len(ended), "sessions": [str(i) for i in ended[:50]]})
    return ended


async def end_session(session: Session, tenant_id: UUID | None, reason: SessionEndReason, actor: audit.Actor | None = None) -> bool:
    """End one session; False if it had already ended."""
    if not await end(Session.filter(id=session.id), reason):
        return False
    await audit.record(tenant_id, "session.revoked", subject_type="session", subject_id=session.id,
                       details={"user": str(session.user_id), "reason": reason.value}, actor=actor)
    return True


def sessions_of(user_id: UUID, *, include_ended: bool = False) -> QuerySet[Session]:
    """A user's sessions, open ones only unless ``include_ended``."""
    query = Session.filter(user_id=user_id)
    if not include_ended:
        query = query.filter(revoked_at=None, expires_at__gt=utcnow())
    return query


async def list_sessions(caller: Principal | None, user_id: UUID | None = None, *, include_ended: bool = False) -> QuerySet[Session]:
    """The caller's own sessions, or (an admin, or the operator) another user's in the tenant."""
    if user_id is None:
        if caller is None or caller.user_id is None:
            raise NotFound("user", "userId")
        user_id = caller.user_id
    user = await managed_user(caller, user_id, allow_self=True, field="userId")
    return sessions_of(user.id, include_ended=include_ended)


async def revoke_session(caller: Principal | None, session_id: UUID) -> Session:
    """End one session: one's own, or (an admin) one of a user in the tenant not above the admin."""
    session = await Session.get_or_none(id=session_id)
    if session is None:
        raise NotFound("session")
    try:
        user = await managed_user(caller, session.user_id, allow_self=True)
    except NotFound:
        raise NotFound("session") from None
    await end_session(session, user.tenant_id, SessionEndReason.REVOKED)
    return await Session.get(id=session_id)


async def revoke_user_sessions(caller: Principal | None, user_id: UUID | None = None, *, keep_current: bool = False) -> int:
    """End every session of a user (the caller's own by default); ``keep_current`` spares the
    session the caller signed in with. Returns how many ended."""
    if user_id is None:
        if caller is None or caller.user_id is None:
            raise NotFound("user", "userId")
        user_id = caller.user_id
    user = await managed_user(caller, user_id, allow_self=True, field="userId")
    keep = caller.session_id if caller is not None and keep_current else None
    return len(await end_user_sessions(user, SessionEndReason.REVOKED, keep=keep))


@periodic("sessions.prune", every_seconds=DAY)
async def prune(now: datetime) -> int:
    """Delete sessions that ended (revoked, or past their last refresh token's expiry) more than
    ``SEVA_SESSION_RETENTION_DAYS`` ago, with their refresh tokens. Sign-ins themselves stay in
    the audit log (with IP and user agent); this keeps the session table to what can still be
    listed and revoked, plus a recent history."""
    cutoff = now - timedelta(days=get_settings().session_retention_days)
    ended = Session.filter(Q(revoked_at__lt=cutoff) | Q(revoked_at__isnull=True, expires_at__lt=cutoff))
    ids = list(await ended.values_list("id", flat=True))
    for start in range(0, len(ids), 500):
        batch = ids[start:start + 500]
        await RefreshToken.filter(family__in=batch).delete()
        await Session.filter(id__in=batch).delete()
    return len(ids)
