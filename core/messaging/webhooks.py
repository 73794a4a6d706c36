"""Outbound webhooks: a tenant's endpoints hear of its domain events, signed per the Standard
Webhooks specification (docs/events.md).

- An endpoint has a URL (a public address: ``core.platform.addresses``), the event types it
  wants (names, or ``payment.*``; none: all) and a secret ``whsec_<base64>`` made here, shown once
  and stored encrypted. Owners and admins manage them; every change is audited.
- Every domain event becomes a ``WebhookDelivery`` row per matching endpoint inside the
  transaction that emits it (``core.platform.events.listen_in_transaction``: the rows commit with
  the change or not at all), and a ``webhooks.deliver`` job once it committed. The payload is
  ``{"type", "timestamp", "data"}`` with ids and states only, never personal data.
- A delivery POSTs the JSON with ``webhook-id`` (the same on every attempt), ``webhook-timestamp``
  and ``webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>``. A 2xx answer is a
  success; anything else (a 3xx included: redirects are not followed), a timeout or a refused
  connection is retried with exponential backoff and jitter, up to ``SEVA_WEBHOOK_MAX_ATTEMPTS``.
  Each attempt is logged on the row (time, status code, duration, error: never a body).
- An endpoint that keeps failing (``SEVA_WEBHOOK_DISABLE_AFTER_FAILURES`` attempts in a row, or no
  success for ``SEVA_WEBHOOK_DISABLE_AFTER_DAYS``) is disabled; its owners and admins are told
  (outbox) and the audit log records it. ``webhookEndpointUpdate(enabled: true)`` turns it back on.
- Retries live in the database: the sweeper re-enqueues deliveries whose job was lost."""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
from standardwebhooks import Webhook

from seva_crm.core.common import crypto
from seva_crm.core.common.enums import Role
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError, NotFound
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.jobs import enqueue, job
from seva_crm.core.jobs.schedule import periodic
from seva_crm.core.messaging.outbox import queue_message
from seva_crm.core.messaging.templates import get_template, render
from seva_crm.core.models import Tenant, User, WebhookDelivery, WebhookEndpoint
from seva_crm.core.platform import audit, events
from seva_crm.core.platform.addresses import check_public_url
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.platform.plugin_types import DomainEvent
from seva_crm.core.storage.transactions import transaction

log = logging.getLogger("seva.webhooks")

DELIVER_JOB = "webhooks.deliver"
SWEEP_JOB = "webhooks.sweep"
MAX_ENDPOINTS = 20  # per tenant
MAX_LOGGED_ATTEMPTS = 30

# The events an endpoint can ask for; "<family>.*" asks for a whole family.
EVENT_TYPES = (
    events.CUSTOMER_CREATED, events.CUSTOMER_UPDATED, events.CUSTOMER_DELETED, events.CUSTOMER_RESTORED,
    events.SERVICE_RECORD_CREATED, events.SERVICE_RECORD_UPDATED,
    "payment.recorded", "payment.refunded", "invoice.paid",
    "subscription.changed", "subscription.suspended", "subscription.reactivated",
    events.MESSAGE_STATUS_CHANGED, events.MESSAGE_RECEIVED,
    events.TICKET_CREATED, events.TICKET_UPDATED, events.TICKET_COMMENTED,
    events.LEAD_CREATED, events.LEAD_UPDATED, events.LEAD_CONVERTED,
    events.CONVERSATION_UPDATED,
    "privacy_request.received", "privacy_request.identity_verified", "privacy_request.in_progress",
    "privacy_request.completed", "privacy_request.completed_with_retention", "privacy_request.rejected",
    "privacy_request.failed", "privacy_request.escalated",
)
FAMILIES = sorted({name.split(".", 1)[0] for name in EVENT_TYPES})


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _context(endpoint_id: UUID) -> str:
    return f"webhook_endpoint:{endpoint_id}"


def secret_of(endpoint: WebhookEndpoint) -> str:
    return crypto.decrypt(endpoint.secret, _context(endpoint.id))


def check_event_types(types: list[str] | None) -> list[str]:
    wanted = sorted({(t or "").strip() for t in types or []})
    bad = [t for t in wanted if t not in EVENT_TYPES and not (t.endswith(".*") and t[:-2] in FAMILIES)]
    if bad:
        raise DomainError.of("eventTypes", ErrorCode.INVALID, f"unknown event types: {', '.join(bad)[:300]}; "
                             f"use one of webhookEventTypes, or a family such as payment.*")
    return wanted


def wants(endpoint: WebhookEndpoint, name: str) -> bool:
    types = endpoint.event_types or []
    return not types or name in types or f"{name.split('.', 1)[0]}.*" in types


# --- endpoints: what owners and admins manage --------------------------------------------------

@dataclass(frozen=True)
class Created:
    endpoint: WebhookEndpoint
    secret: str  # shown once


async def create_endpoint(tenant: TenantScope, data: dict[str, Any]) -> Created:
    url = await check_public_url(data.get("url") or "")
    types = check_event_types(data.get("event_types"))
    description = (data.get("description") or "").strip()[:200]
    if await WebhookEndpoint.filter(tenant_id=tenant.id).count() >= MAX_ENDPOINTS:
        raise DomainError.of(None, ErrorCode.INVALID, f"at most {MAX_ENDPOINTS} webhook endpoints per tenant")
    secret, endpoint_id = new_secret(), uuid4()
    async with transaction():
        endpoint = await WebhookEndpoint.create(id=endpoint_id, tenant_id=tenant.id, url=url, event_types=types,
                                                description=description, secret=crypto.encrypt(secret, _context(endpoint_id)))
        await audit.record(tenant.id, "webhook_endpoint.created", subject_type="webhook_endpoint", subject_id=endpoint.id,
                           changed=["url", "event_types", "description", "secret"],
                           details={"url": url, "event_types": types})
    return Created(endpoint, secret)


async def update_endpoint(tenant: TenantScope, endpoint_id: UUID | None, data: dict[str, Any]) -> WebhookEndpoint:
    """Change the URL, event types, description, or turn it on or off (on again: the failure count restarts)."""
    endpoint = await get_endpoint(tenant.id, endpoint_id)
    values: dict[str, Any] = {}
    if data.get("url") is not None:
        values["url"] = await check_public_url(data["url"])
    if data.get("event_types") is not None:
        values["event_types"] = check_event_types(data["event_types"])
    if data.get("description") is not None:
        values["description"] = data["description"].strip()[:200]
    if data.get("enabled") is not None and data["enabled"] != endpoint.enabled:
        values["enabled"] = data["enabled"]
        values.update(disabled_at=None if data["enabled"] else utcnow(), disabled_reason="" if data["enabled"] else "by staff",
                      consecutive_failures=0, failing_since=None)
    changed = [k for k in ("url", "event_types", "description", "enabled") if k in values and values[k] != getattr(endpoint, k)]
    if not changed:
        return endpoint
    async with transaction():
        endpoint.update_from_dict(values)
        await endpoint.save(update_fields=[*values, "updated_at"])
        await audit.record(tenant.id, "webhook_endpoint.updated", subject_type="webhook_endpoint", subject_id=endpoint.id,
                           changed=changed, details={k: values[k] for k in changed})
    return endpoint


async def rotate_secret(tenant: TenantScope, endpoint_id: UUID | None) -> Created:
    """A new secret, shown once; the old one stops at once."""
    endpoint = await get_endpoint(tenant.id, endpoint_id)
    secret = new_secret()
    async with transaction():
        endpoint.secret = crypto.encrypt(secret, _context(endpoint.id))
        await endpoint.save(update_fields=["secret", "updated_at"])
        await audit.record(tenant.id, "webhook_endpoint.secret_rotated", subject_type="webhook_endpoint",
                           subject_id=endpoint.id, changed=["secret"])
    return Created(endpoint, secret)


async def delete_endpoint(tenant: TenantScope, endpoint_id: UUID | None) -> UUID:
    endpoint = await get_endpoint(tenant.id, endpoint_id)
    async with transaction():
        await endpoint.delete()
        await audit.record(tenant.id, "webhook_endpoint.deleted", subject_type="webhook_endpoint", subject_id=endpoint.id,
                           details={"url": endpoint.url})
    return endpoint.id


async def get_endpoint(tenant_id: UUID, endpoint_id: UUID | None, field: str = "id") -> WebhookEndpoint:
    endpoint = await WebhookEndpoint.get_or_none(id=endpoint_id, tenant_id=tenant_id) if endpoint_id else None
    if endpoint is None:
        raise NotFound("webhook endpoint", field)
    return endpoint


async def redeliver(tenant: TenantScope, delivery_id: UUID | None) -> WebhookDelivery:
    """Send a delivery again now (its id and payload unchanged), whatever became of it."""
    delivery = await WebhookDelivery.get_or_none(id=delivery_id, tenant_id=tenant.id) if delivery_id else None
    if delivery is None:
        raise NotFound("webhook delivery")
    endpoint = await get_endpoint(tenant.id, delivery.endpoint_id)
    if not endpoint.enabled:
        raise DomainError.of("id", ErrorCode.INVALID, "its endpoint is disabled: enable it first")
    async with transaction():
        delivery.status, delivery.next_attempt_at = "pending", utcnow()
        await delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])
        await audit.record(tenant.id, "webhook_delivery.redelivered", subject_type="webhook_endpoint",
                           subject_id=endpoint.id, details={"delivery": str(delivery.id)})
        _enqueue_after_commit(delivery.id)
    return delivery


# --- fan-out and delivery ----------------------------------------------------------------------

def payload_of(event: DomainEvent) -> dict[str, Any]:
    """What an endpoint receives: the event's name, when it happened, and ids and states."""
    at = event.occurred_at or utcnow()
    return {"type": event.name, "timestamp": at.isoformat().replace("+00:00", "Z"),
            "data": {"id": str(event.subject_id), **event.data}}


@events.listen_in_transaction()
async def fan_out(event: DomainEvent) -> None:
    """An event, inside the transaction that emits it: one delivery per endpoint of the tenant that
    wants it. The rows commit with the change (none if it rolls back); each is sent after the commit."""
    enabled = await events.cached(("webhook_endpoints", event.tenant_id),  # once per batch of events (outbox)
                                  lambda: WebhookEndpoint.filter(tenant_id=event.tenant_id, enabled=True))
    endpoints = [e for e in enabled if wants(e, event.name)]
    if not endpoints:
        return
    payload = payload_of(event)
    for endpoint in endpoints:  # in emit's savepoint: a failure here rolls back these rows alone
        delivery = await WebhookDelivery.create(tenant_id=event.tenant_id, endpoint_id=endpoint.id, event_type=event.name,
                                                event_id=f"msg_{uuid4().hex}", payload=payload, next_attempt_at=utcnow())
        _enqueue_after_commit(delivery.id)


def _enqueue_after_commit(delivery_id: UUID, delay: float | None = None) -> None:
    from seva_crm.core.storage.transactions import after_commit

    after_commit(lambda: enqueue(DELIVER_JOB, str(delivery_id), delay_seconds=delay))


@job(DELIVER_JOB)
async def deliver_job(delivery_id: str) -> None:
    await deliver(UUID(delivery_id))


def backoff(attempt: int) -> float:
    """Seconds before the next attempt after ``attempt`` failed: doubling from the base, capped,
    with full jitter (so endpoints that come back are not hit by every retry at once)."""
    s = get_settings()
    ceiling = min(s.webhook_retry_max_seconds, s.webhook_retry_base_seconds * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not a secret


def sign(secret: str, event_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers of ``body``."""
    return {"webhook-id": event_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, at, body)}


async def deliver(delivery_id: UUID) -> str | None:
    """One attempt of a pending delivery that is due; returns its status after, or None when it
    was not this job's to send (not pending, not due, taken by another job)."""
    now = utcnow()
    delivery = await WebhookDelivery.get_or_none(id=delivery_id)
    if delivery is None or delivery.status != "pending":
        return None
    if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
        enqueue(DELIVER_JOB, str(delivery.id), delay_seconds=(delivery.next_attempt_at - now).total_seconds())
        return None  # an early job (clocks differ a little): sent again for then
    taken = await WebhookDelivery.filter(id=delivery.id, status="pending", attempts=delivery.attempts).update(
        attempts=delivery.attempts + 1, next_attempt_at=now + timedelta(seconds=get_settings().webhook_timeout_seconds * 2))
    if taken != 1:
        return None
    endpoint = await WebhookEndpoint.get_or_none(id=delivery.endpoint_id)
    attempt = delivery.attempts + 1
    if endpoint is None or not endpoint.enabled:
        await _finish(delivery, attempt, now, None, 0, "endpoint disabled", final=True)
        return "failed"
    code, error, started = None, "", time.monotonic()
    try:
        secret = secret_of(endpoint)
    except crypto.CryptoError:  # cannot sign: retrying will not help, and nothing unsigned is sent
        log.warning("webhook endpoint %s: its secret cannot be opened with this instance's key", endpoint.id)
        await _finish(delivery, attempt, now, None, 0, "the endpoint's secret cannot be opened (the instance's secret "
                      "key changed without `seva secrets rotate`?): rotate the endpoint's secret", final=True)
        return "failed"
    try:
        url = await check_public_url(endpoint.url)
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
        headers = {"content-type": "application/json", "user-agent": "Seva-Webhooks/1",
                   **sign(secret, delivery.event_id, now, body)}
        async with httpx.AsyncClient(timeout=get_settings().webhook_timeout_seconds, follow_redirects=False) as client:
            response = await client.post(url, content=body.encode(), headers=headers)
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except DomainError as exc:
        error = exc.errors[0].message
    except httpx.TimeoutException:
        error = "timed out"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = not error
    final = ok or attempt >= get_settings().webhook_max_attempts
    await _finish(delivery, attempt, now, code, duration_ms, error, final=final)
    await _count(endpoint, ok, now)
    return "succeeded" if ok else "failed" if final else "pending"


async def _finish(delivery: WebhookDelivery, attempt: int, at: datetime, code: int | None, duration_ms: int, error: str,
                  *, final: bool) -> None:
    entry = {"attempt": attempt, "at": at.isoformat(), "status_code": code, "duration_ms": duration_ms, "error": error[:200]}
    log_ = [*delivery.attempt_log, entry][-MAX_LOGGED_ATTEMPTS:]
    status = "succeeded" if not error else "failed" if final else "pending"
    delay = None if final else backoff(attempt)
    await WebhookDelivery.filter(id=delivery.id).update(
        status=status, attempt_log=log_, last_status_code=code, delivered_at=at if not error else None,
        next_attempt_at=None if delay is None else utcnow() + timedelta(seconds=delay), updated_at=utcnow())
    if delay is not None:
        enqueue(DELIVER_JOB, str(delivery.id), delay_seconds=delay)
    log.info("webhook delivery %s attempt %d: %s (%d ms)", delivery.id, attempt, status if not error else error, duration_ms)


async def _count(endpoint: WebhookEndpoint, ok: bool, now: datetime) -> None:
    """An attempt's outcome on its endpoint: a success clears the failures; too many disable it."""
    if ok:
        if endpoint.consecutive_failures or endpoint.failing_since:
            await WebhookEndpoint.filter(id=endpoint.id).update(consecutive_failures=0, failing_since=None)
        return
    s = get_settings()
    failures, since = endpoint.consecutive_failures + 1, endpoint.failing_since or now
    await WebhookEndpoint.filter(id=endpoint.id).update(consecutive_failures=failures, failing_since=since)
    if failures >= s.webhook_disable_after_failures or now - since >= timedelta(days=s.webhook_disable_after_days):
        await disable(endpoint.id, f"{failures} failed attempts in a row since {since.strftime('%Y-%m-%d %H:%M')} UTC")


async def disable(endpoint_id: UUID, reason: str) -> bool:
    """Turn a failing endpoint off, audit it and alert the tenant's owners and admins (once)."""
    async with transaction():
        moved = await WebhookEndpoint.filter(id=endpoint_id, enabled=True).update(
            enabled=False, disabled_at=utcnow(), disabled_reason=reason[:300])
        if not moved:
            return False
        endpoint = await WebhookEndpoint.get(id=endpoint_id)
        token = audit.set_actor(audit.SYSTEM)
        try:
            await audit.record(endpoint.tenant_id, "webhook_endpoint.disabled", subject_type="webhook_endpoint",
                               subject_id=endpoint.id, changed=["enabled"], details={"reason": reason})
        finally:
            audit.reset_actor(token)
        await alert_owners(endpoint)
    log.warning("webhook endpoint %s of tenant %s disabled: %s", endpoint.id, endpoint.tenant_id, reason)
    return True


async def alert_owners(endpoint: WebhookEndpoint) -> list[UUID]:
    """Queue the 'endpoint disabled' alert to each active owner and admin, in their tenant's language."""
    tenant = await Tenant.get(id=endpoint.tenant_id).only("id", "name", "locale")
    template = await get_template(tenant.id, "webhook_disabled")
    language = tenant.locale.split("-", 1)[0]
    host = httpx.URL(endpoint.url).host
    values = {"centre": tenant.name, "host": host}
    ids = []
    staff = await User.filter(tenant_id=tenant.id, is_active=True, role__in=[Role.ADMIN, Role.OWNER]).order_by("id")
    for user in staff:
        kind = "email" if user.email else "sms" if user.phone else None
        if kind is None:
            continue
        message = await queue_message(tenant.id, None, user_id=user.id, purpose=Purpose.SERVICE, template=template.key,
                                      body=render(template, values, language), variables=values, only_channel=kind,
                                      idempotency_key=f"webhook-disabled:{endpoint.id}:{endpoint.disabled_at.isoformat()}:{user.id}")
        ids.append(message.id)
    return ids


@periodic(SWEEP_JOB, every_seconds=60)
async def sweep(now: datetime) -> int:
    """Re-enqueue pending deliveries whose job was lost (overdue by more than a minute)."""
    overdue = now - timedelta(seconds=60)
    ids = await (WebhookDelivery.filter(status="pending", next_attempt_at__lte=overdue)
                 .order_by("next_attempt_at").limit(1000).values_list("id", flat=True))
    for delivery_id in ids:
        enqueue(DELIVER_JOB, str(delivery_id))
    return len(ids)


async def rotate_stored_secrets(old_secrets: tuple[str, ...]) -> int:
    """Re-encrypt every endpoint's secret under the current SEVA_SECRET_KEY (``seva secrets rotate``)."""
    current, rotated, failures = crypto.current_key_id(), 0, []
    async with transaction():
        for endpoint in await WebhookEndpoint.all().select_for_update():
            if crypto.key_id_of(endpoint.secret) == current:
                continue
            try:
                plain = crypto.decrypt(endpoint.secret, _context(endpoint.id), old_secrets=old_secrets)
            except crypto.CryptoError as exc:
                failures.append(FieldError(None, ErrorCode.INVALID, f"webhook endpoint {endpoint.id}: {exc}"))
                continue
            endpoint.secret = crypto.encrypt(plain, _context(endpoint.id))
            await endpoint.save(update_fields=["secret", "updated_at"])
            rotated += 1
        if failures:
            raise DomainError(*failures)
    return rotated
