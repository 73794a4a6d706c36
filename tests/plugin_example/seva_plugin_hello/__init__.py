"""An example Seva CRM plugin: a notification channel, a GraphQL field and a webhook route."""

from __future__ import annotations

import strawberry
from pydantic import BaseModel, Field, SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry import Info

from seva_crm.core.platform.channels import OutgoingMessage, Recipient, SendError, SendResult
from seva_crm.core.common.enums import Role
from seva_crm.core.platform.hookspecs import hookimpl
from seva_crm.core.platform.plugin_types import GraphQLContribution, PluginManifest
from seva_crm.core.platform.tenant_plugins import enabled_plugins
from seva_crm.schema.permissions import needs

PLUGIN_ID = "hello"


class HelloSettings(BaseModel):
    greeting: str = Field("Hello", max_length=40, description="How messages start")
    api_key: SecretStr = Field(description="The (pretend) provider's key")


class HelloChannel:
    """Delivers a message by keeping it in ``outbox``: a real channel calls its provider here."""

    name = "hello"

    def __init__(self) -> None:
        self.outbox: list[str] = []

    def can_reach(self, recipient: Recipient) -> bool:
        return recipient.phone is not None

    async def send(self, message: OutgoingMessage, settings: HelloSettings) -> SendResult:
        if not settings.api_key.get_secret_value():
            raise SendError("no_key", "the hello channel has no API key", retryable=False)
        self.outbox.append(f"{settings.greeting}, {message.recipient.name}: {message.body}")
        return SendResult(provider_id=f"hello-{len(self.outbox)}")


channel = HelloChannel()


@strawberry.type
class HelloQuery:
    @strawberry.field(permission_classes=needs(Role.VIEWER), description="Whether hello is on for your tenant.")
    async def hello_status(self, info: Info) -> str:
        enabled = PLUGIN_ID in await enabled_plugins(info.context.tenant.id, info.context.plugins)
        return "hello is on" if enabled else "hello is off"


async def delivery_report(request: Request) -> JSONResponse:
    report = await request.json()  # a real plugin verifies the provider's signature first
    return JSONResponse({"received": report.get("id")})


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(id=PLUGIN_ID, name="Hello", version="0.1.0", description="Says hello",
                          settings_model=HelloSettings)


@hookimpl
def seva_notification_channels() -> list[HelloChannel]:
    return [channel]


@hookimpl
def seva_graphql() -> GraphQLContribution:
    return GraphQLContribution(query=HelloQuery)


@hookimpl
def seva_webhook_routes() -> list[Route]:
    return [Route("/delivery", delivery_report, methods=["POST"])]
