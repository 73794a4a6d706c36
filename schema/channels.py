"""The notification channels a tenant can use, and the order the outbox tries them in."""

from __future__ import annotations

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.messaging import channel_registry
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs


@strawberry.type(description="A channel a plugin the tenant enabled provides.")
class NotificationChannel:
    id: str = strawberry.field(description="The channel id: what preferredChannel, the channel order and template "
                                           "bindings name")
    kind: str = strawberry.field(description="sms, whatsapp, email, or the channel's own id: consent is given per kind")
    plugin_id: str


@strawberry.type(description="The tenant's channels and the order the outbox tries them in after a customer's "
                             "preferred channel.")
class NotificationChannels:
    available: list[NotificationChannel]
    order: list[str] = strawberry.field(description="Channel ids, tried in turn (a channel no enabled plugin provides "
                                                    "is skipped)")


def _view(current: channel_registry.ChannelOrder) -> NotificationChannels:
    return NotificationChannels(
        available=[NotificationChannel(id=c.id, kind=c.kind, plugin_id=c.plugin_id) for c in current.available],
        order=current.order)


@strawberry.type
class ChannelOrderPayload:
    notification_channels: NotificationChannels | None
    errors: list[UserError]


@strawberry.type
class ChannelQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER),
                      description="The channels of the plugins this tenant enabled, and its channel order.")
    async def notification_channels(self, info: Info) -> NotificationChannels:
        return _view(await channel_registry.channel_order(info.context.tenant.id))


@strawberry.type
class ChannelMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN),
                         description="Set the order the outbox tries channels in after a customer's preferred one: "
                                     "ids of the tenant's channels, each once. Audited.")
    async def channel_order_update(self, info: Info, channels: list[str]) -> ChannelOrderPayload:
        async def work() -> NotificationChannels:
            return _view(await channel_registry.set_channel_order(info.context.tenant.id, channels))

        return await payload(ChannelOrderPayload, "notification_channels", work())
