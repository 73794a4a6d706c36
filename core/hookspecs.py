"""The plugin contract: every hook a Seva CRM plugin may implement.

Plugins are pluggy plugins found through the ``seva`` entry-point group (built-in integrations
register the same way as a partner's package). Hook calls are synchronous: a hook that provides
behaviour returns an *adapter* object whose async methods core awaits. Slow I/O belongs in jobs
(``seva_actors``), not inline in a request. Each hook below says when core calls it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from core.channels import NotificationChannel
    from core.plugin_types import (
        DomainEvent,
        GraphQLContribution,
        PaymentGateway,
        PluginManifest,
        PrivacyFanout,
        RegionPolicy,
        ScheduledJob,
    )

PROJECT = "seva"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def seva_manifest() -> PluginManifest:
    """Declare the plugin: id, name, version, description, and its per-tenant settings model.

    Required of every plugin. Called once at start-up. The settings model is a pydantic model;
    fields typed ``SecretStr`` are encrypted at rest and never returned by the API.
    """


@hookspec
def seva_notification_channels() -> list[NotificationChannel]:
    """Return channel adapters (see ``core.channels.NotificationChannel``).

    Called once at start-up; the outbox awaits ``adapter.send(message, settings)`` in a job, for
    tenants that enabled this plugin.
    """


@hookspec
def seva_payment_gateways() -> list[PaymentGateway]:
    """Return payment gateway adapters (online payments, payment links, refunds).

    Called once at start-up; billing awaits the adapter's methods for tenants that enabled the plugin.
    """


@hookspec
def seva_region_policies() -> list[RegionPolicy]:
    """Return region policy adapters (privacy law of a country: deadlines, ages, retention).

    Called once at start-up; the privacy engine consults the policies of each tenant's region
    and, where a tenant answers to several, applies the stricter answer.
    """


@hookspec
def seva_graphql() -> GraphQLContribution:
    """Contribute GraphQL: Strawberry query and mutation types merged into the root types, and
    extra types. Called once when the schema is built; a field name that clashes with core or
    another plugin stops start-up with an error naming both.
    """


@hookspec
def seva_webhook_routes() -> list[BaseRoute]:
    """Return Starlette routes, mounted under ``/webhooks/<plugin id>/``.

    Called once at start-up. Webhook handlers verify signatures themselves, answer fast and
    queue the work as a job.
    """


@hookspec
def seva_actors(broker: Any) -> None:
    """Declare dramatiq actors on ``broker`` (with ``dramatiq.actor(..., broker=broker)``).

    Called once when the broker is set up, in the web process and in every ``seva worker``.
    """


@hookspec
def seva_scheduled_jobs() -> list[ScheduledJob]:
    """Return periodic jobs (name, interval, actor) for ``seva scheduler`` to enqueue.

    Called once when the scheduler starts. Each job runs at most once per interval across all
    schedulers.
    """


@hookspec
def seva_domain_event(event: DomainEvent) -> None:
    """Notice a domain event (customer created/updated/deleted, subscription and payment
    changes, privacy request changes), delivered after the change committed.

    Called synchronously for tenants that enabled the plugin: enqueue a job for any I/O.
    """


@hookspec
def seva_privacy_fanout() -> PrivacyFanout:
    """Return an adapter that exports and erases the personal data this plugin stores itself
    (``async export(tenant_id, customer_id) -> dict`` and ``async erase(tenant_id, customer_id)``).

    Called when the privacy engine answers an access, portability or erasure request.
    """
