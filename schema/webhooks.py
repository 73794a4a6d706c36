"""Outbound webhooks: endpoints (owners and admins), their delivery log, redelivery. See docs/events.md."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.messaging import webhooks
from seva_crm.core.models import WebhookDelivery as DeliveryRow
from seva_crm.core.models import WebhookEndpoint as EndpointRow
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs

MAX_DELIVERIES = 100


@strawberry.type(description="An address of the tenant's own systems that hears of its events, signed per Standard Webhooks.")
class WebhookEndpoint:
    @strawberry.field
    def id(self: EndpointRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("WebhookEndpoint", self.id))

    url: str
    description: str
    event_types: list[str] = strawberry.field(description="Event names or families (payment.*); empty: every event")
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str = strawberry.field(description="Why it was turned off (failing for too long, or by staff)")
    consecutive_failures: int
    created_at: datetime

    @strawberry.field(description="Its latest deliveries, newest first")
    async def deliveries(self: EndpointRow, first: int = 20) -> list[WebhookDelivery]:
        first = max(0, min(first, MAX_DELIVERIES))
        return await DeliveryRow.filter(tenant_id=self.tenant_id, endpoint_id=self.id).order_by("-created_at").limit(first)


@strawberry.type(description="One attempt to deliver an event")
class WebhookAttempt:
    attempt: int
    at: datetime
    status_code: int | None = strawberry.field(description="The endpoint's HTTP status; null: no answer")
    duration_ms: int
    error: str = strawberry.field(description="Why it failed (HTTP 503, timed out, ...); empty on success")


@strawberry.type(description="One event sent to one endpoint, with every attempt")
class WebhookDelivery:
    @strawberry.field
    def id(self: DeliveryRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("WebhookDelivery", self.id))

    event_id: str = strawberry.field(description="The webhook-id header: the same on every attempt, for deduplication")
    event_type: str
    payload: JSON = strawberry.field(description="What was sent: type, timestamp, data (ids and states only)")
    status: str = strawberry.field(description="pending, succeeded or failed")
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    @strawberry.field
    def attempt_log(self: DeliveryRow) -> list[WebhookAttempt]:
        return [WebhookAttempt(attempt=a["attempt"], at=datetime.fromisoformat(a["at"]), status_code=a["status_code"],
                               duration_ms=a["duration_ms"], error=a["error"]) for a in self.attempt_log]


@strawberry.input
class WebhookEndpointInput:
    url: str | None = None
    event_types: list[str] | None = None
    description: str | None = None
    enabled: bool | None = strawberry.field(default=None, description="Update only: false turns it off, true on again")


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None
    errors: list[UserError]
    secret: str | None = strawberry.field(default=None, description="whsec_...: shown only here, when created or rotated; "
                                                                    "keep it safe")


@strawberry.type
class WebhookEndpointDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class WebhookDeliveryPayload:
    delivery: WebhookDelivery | None
    errors: list[UserError]


def endpoint_id(value: strawberry.ID) -> UUID | None:
    return from_global_id(value, "WebhookEndpoint")


async def _with_secret(work) -> WebhookEndpointPayload:
    result = await payload(WebhookEndpointPayload, "endpoint", work)
    created = result.endpoint
    return WebhookEndpointPayload(endpoint=created.endpoint if created else None, secret=created.secret if created else None,
                                  errors=result.errors)


@strawberry.type
class WebhookQuery:
    @strawberry.field(permission_classes=needs(CoreRole.ADMIN))
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        return await EndpointRow.filter(tenant_id=info.context.tenant.id).order_by("created_at")

    @strawberry.field(permission_classes=needs(CoreRole.ADMIN), description="The event types an endpoint can ask for")
    def webhook_event_types(self) -> list[str]:
        return list(webhooks.EVENT_TYPES)


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN))
    async def webhook_endpoint_create(self, info: Info, input: WebhookEndpointInput) -> WebhookEndpointPayload:
        data = {"url": input.url, "event_types": input.event_types, "description": input.description}
        return await _with_secret(webhooks.create_endpoint(info.context.tenant, data))

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN))
    async def webhook_endpoint_update(self, info: Info, id: strawberry.ID, input: WebhookEndpointInput) -> WebhookEndpointPayload:
        data = {"url": input.url, "event_types": input.event_types, "description": input.description, "enabled": input.enabled}
        return await payload(WebhookEndpointPayload, "endpoint", webhooks.update_endpoint(info.context.tenant, endpoint_id(id), data))

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN), description="A new secret (shown once); the old one stops")
    async def webhook_endpoint_rotate_secret(self, info: Info, id: strawberry.ID) -> WebhookEndpointPayload:
        return await _with_secret(webhooks.rotate_secret(info.context.tenant, endpoint_id(id)))

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN))
    async def webhook_endpoint_delete(self, info: Info, id: strawberry.ID) -> WebhookEndpointDeletePayload:
        async def work() -> strawberry.ID:
            return strawberry.ID(to_global_id("WebhookEndpoint", await webhooks.delete_endpoint(info.context.tenant, endpoint_id(id))))

        return await payload(WebhookEndpointDeletePayload, "deleted_id", work())

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN), description="Send a delivery again now, same id and payload")
    async def webhook_delivery_redeliver(self, info: Info, id: strawberry.ID) -> WebhookDeliveryPayload:
        return await payload(WebhookDeliveryPayload, "delivery",
                             webhooks.redeliver(info.context.tenant, from_global_id(id, "WebhookDelivery")))
