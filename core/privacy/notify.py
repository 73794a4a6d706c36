"""Messages the privacy engine owes people: codes to data subjects, download links, and alerts
to a tenant's admins. Wired to ``core.outbox.queue_message`` at merge; until then each is an
*intent*: recorded in the audit log (kind, channel, ids: never an address or a code) and passed
to any listeners (tests read codes through ``listen``). Nothing personal is logged."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from core import audit
from core.enums import Role
from core.models import User


@dataclass(frozen=True)
class Intent:
    kind: str  # subject_code, subject_link, admin_alert
    tenant_id: UUID
    channel: str
    address: str = ""  # the subject's phone or email (listeners only; never stored or logged)
    secret: str = ""  # the code or link
    request_id: UUID | None = None
    recipients: tuple[str, ...] = ()  # staff user ids
    data: dict[str, Any] = field(default_factory=dict)


_listeners: list[Callable[[Intent], None]] = []


@contextmanager
def listen():
    """Collect intents while the block runs (a test hook): ``with listen() as sent: ...``."""
    sent: list[Intent] = []
    _listeners.append(sent.append)
    try:
        yield sent
    finally:
        _listeners.remove(sent.append)


def _emit(intent: Intent) -> None:
    for listener in list(_listeners):
        listener(intent)


async def send_subject_code(request: Any, channel: str, address: str, code: str) -> None:
    """Send a verification code to the subject of ``request`` (wired to core.outbox.queue_message at merge)."""
    await audit.record(request.tenant_id, "notification.intended", subject_type="privacy_request", subject_id=request.id,
                       details={"kind": "subject_code", "channel": channel})
    _emit(Intent("subject_code", request.tenant_id, channel, address, code, request.id))


async def send_subject_link(request: Any, channel: str, address: str, url: str) -> None:
    """Send the export download link to the subject (wired to core.outbox.queue_message at merge)."""
    await audit.record(request.tenant_id, "notification.intended", subject_type="privacy_request", subject_id=request.id,
                       details={"kind": "subject_link", "channel": channel})
    _emit(Intent("subject_link", request.tenant_id, channel, address, url, request.id))


async def notify_admins(tenant_id: UUID, kind: str, subject_type: str, subject_id: object, data: dict[str, Any]) -> Intent:
    """Alert the tenant's admins and owners (wired to core.outbox.queue_message at merge).
    ``data`` holds ids, states and deadlines only."""
    admins = await User.filter(tenant_id=tenant_id, is_active=True, role__in=[Role.ADMIN, Role.OWNER]).values_list("id", flat=True)
    recipients = tuple(sorted(str(a) for a in admins))
    await audit.record(tenant_id, "notification.intended", subject_type=subject_type, subject_id=subject_id,
                       details={"kind": kind, "recipients": list(recipients), **data})
    intent = Intent("admin_alert", tenant_id, "staff", recipients=recipients, data={"kind": kind, **data})
    _emit(intent)
    return intent
