"""The plugin contract: every hook a Seva CRM plugin may implement.

Plugins are pluggy plugins found through the ``seva`` entry-point group (built-in integrations
register the same way as a partner's package). Hook calls are synchronous: a hook that provides
behaviour returns an *adapter* object whose async methods core awaits. Slow I/O belongs in jobs
(``seva_actors``), not inline in a request.

Each hook's docstring says what it receives, what it returns, when core calls it, and whether
the call itself does the work (sync) or hands core an adapter to await. docs/plugins.md is the
reference for partners (who import ``hookimpl`` and the types from ``seva_crm.plugin_api``); a
test keeps the two in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from seva_crm.core.platform.channels import NotificationChannel
    from seva_crm.core.platform.plugin_types import (
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
    """Declare the plugin: id, name, version, description, its per-tenant settings model, and
    its own tables (a models module and a migrations package: a Tortoise app named by its id).

    Arguments: none. Returns: a ``PluginManifest``; its ``id`` must equal the entry-point name.
    When: once per plugin at start-up, when the plugin manager loads. Required of every plugin.
    Sync. The settings model is a pydantic model; fields typed ``SecretStr`` are encrypted at
    rest and never returned by the API.
    """


@hookspec
def seva_notification_channels() -> list[NotificationChannel]:
    """Provide notification channels (WhatsApp, SMS, email, a partner's own).

    Arguments: none. Returns: a list of channel adapters (``seva_crm.plugin_api.NotificationChannel``).
    When: once per process, the first time channels are looked up. Adapter: for a tenant that
    enabled the plugin, core awaits ``adapter.send(message, settings)`` (in a job) with the
    plugin's validated settings, secrets decrypted. An adapter that declares ``attachments = True``
    also gets messages carrying a document (``message.attachment``: bytes, filename, media type).
    """


@hookspec
def seva_payment_gateways() -> list[PaymentGateway]:
    """Provide payment gateways (online payments, payment links, refunds).

    Arguments: none. Returns: a list of gateway adapters (``seva_crm.plugin_api.PaymentGateway``).
    When: once per process, the first time gateways are looked up. Adapter: billing awaits its
    methods for tenants that enabled the plugin, passing the tenant's settings.
    """


@hookspec
def seva_region_policies() -> list[RegionPolicy]:
    """Provide region policies (the privacy law of a country: deadlines, ages, retention).

    Arguments: none. Returns: a list of policy adapters, each with a ``region`` ("IN", "BD").
    When: once per process, the first time policies are looked up. Adapter: the privacy engine
    consults the policies of each tenant's region and, where several answer, applies the
    stricter answer. Region policies apply to every tenant of their region (no enablement).
    """


@hookspec
def seva_graphql() -> GraphQLContribution:
    """Contribute GraphQL fields.

    Arguments: none. Returns: a ``GraphQLContribution`` with Strawberry query and mutation types
    whose fields are merged into the root ``Query`` and ``Mutation``, and extra types. When: once,
    when the schema is built at start-up. Sync. A field name that clashes with core or with
    another plugin stops start-up with an error naming both. Resolvers take the tenant only from
    ``info.context.tenant`` and should check whether the plugin is enabled for it.
    """


@hookspec
def seva_webhook_routes() -> list[BaseRoute]:
    """Receive webhooks from a provider.

    Arguments: none. Returns: a list of Starlette routes, mounted under ``/webhooks/<plugin id>/``.
    When: once, when the ASGI app is built at start-up. Sync to declare; the handlers are async.
    Handlers verify signatures themselves (over the raw body), answer fast and queue the work as
    a job. There is no signed-in principal: find the tenant from the payload.
    """


@hookspec
def seva_actors(broker: Any) -> None:
    """Declare dramatiq actors.

    Arguments: ``broker``, the process's dramatiq broker: declare with
    ``dramatiq.actor(fn, broker=broker, ...)``. Returns: nothing. When: once when the broker is
    set up, in the web process and in every ``seva worker``, before any message is consumed. Sync.
    """


@hookspec
def seva_scheduled_jobs() -> list[ScheduledJob]:
    """Ask for periodic work.

    Arguments: none. Returns: a list of ``ScheduledJob`` (name, interval, actor name). When: once,
    when ``seva scheduler`` starts. Sync. Each job is enqueued at most once per interval across all
    schedulers; the actor itself decides which tenants to work for.
    """


@hookspec
def seva_domain_event(event: DomainEvent) -> None:
    """Notice a domain event (customer created, updated, deleted or restored; subscription,
    payment, invoice and privacy-request changes).

    Arguments: ``event``, a ``DomainEvent`` carrying ids and states only, never personal data.
    Returns: nothing. When: after the change committed (never for a rolled-back change), only for
    plugins enabled for the event's tenant. Sync, inline in the request: enqueue a job for any
    I/O. An exception is logged and does not undo the change or stop other plugins.
    """


@hookspec
def seva_privacy_fanout() -> PrivacyFanout:
    """Take part in privacy requests for the personal data this plugin stores itself.

    Arguments: none. Returns: an adapter with ``async export(tenant_id, customer_id) -> dict``
    and ``async erase(tenant_id, customer_id) -> dict`` (what was erased, what kept and why).
    When: once per process, the first time fan-outs are looked up. Adapter: the privacy engine
    awaits it for tenants that enabled the plugin, or turned it off after using it (the data may
    still be there), when answering an access, portability or erasure request.
    """
