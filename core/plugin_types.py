"""Value types exchanged through the hooks in ``core.hookspecs``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel


@dataclass(frozen=True)
class PluginManifest:
    id: str  # equals the entry-point name; used in URLs (/webhooks/<id>/) and settings
    name: str
    version: str
    description: str = ""
    settings_model: type[BaseModel] | None = None  # SecretStr fields are encrypted at rest
    enabled_by_default: bool = False  # for tenants that have not chosen


@dataclass(frozen=True)
class GraphQLContribution:
    query: type | None = None  # a @strawberry.type whose fields join Query
    mutation: type | None = None  # a @strawberry.type whose fields join Mutation
    types: tuple[type, ...] = ()  # extra types reachable only through interfaces or unions


@dataclass(frozen=True)
class ScheduledJob:
    name: str  # unique; the lease that keeps several schedulers from running it twice
    every_seconds: int
    actor_name: str  # the dramatiq actor to enqueue (no arguments)


@dataclass(frozen=True)
class DomainEvent:
    name: str  # "customer.created", "payment.recorded", "privacy_request.completed", ...
    tenant_id: UUID
    subject_id: UUID
    data: dict[str, Any] = field(default_factory=dict)  # ids and states only, no personal data
    occurred_at: datetime | None = None


class PaymentGateway(Protocol):
    name: str


class RegionPolicy(Protocol):
    region: str  # "IN", "BD"


class PrivacyFanout(Protocol):
    async def export(self, tenant_id: UUID, customer_id: UUID) -> dict[str, Any]: ...

    async def erase(self, tenant_id: UUID, customer_id: UUID) -> dict[str, Any]: ...
