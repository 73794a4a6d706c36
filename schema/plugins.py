"""Plugins as a tenant's admins see them: enablement and settings (secrets only as ``isSet``)."""

from __future__ import annotations

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from seva_crm.core.platform import plugin_settings
from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.errors import DomainError
from seva_crm.schema.errors import UserError, user_errors
from seva_crm.schema.permissions import needs


@strawberry.type(description="One setting of a plugin for the caller's tenant. A secret's value is never shown.")
class PluginSetting:
    name: str
    secret: bool
    is_set: bool = strawberry.field(description="Whether the tenant has given a value (for a secret, the only thing shown)")
    required: bool
    value: JSON | None = strawberry.field(description="The value in force (the default if none was given); null for secrets")
    description: str


@strawberry.type(description="An installed plugin, and the caller's tenant's choice for it.")
class Plugin:
    id: str
    name: str
    version: str
    description: str
    hooks: list[str]
    source: str = strawberry.field(description="The package it came from")
    enabled_for_tenant: bool
    settings: list[PluginSetting]


def _plugin(v: plugin_settings.PluginView) -> Plugin:
    return Plugin(id=v.id, name=v.name, version=v.version, description=v.description, hooks=v.hooks, source=v.source,
                  enabled_for_tenant=v.enabled,
                  settings=[PluginSetting(name=s.name, secret=s.secret, is_set=s.is_set, required=s.required,
                                          value=s.value, description=s.description) for s in v.settings])


@strawberry.type
class PluginPayload:
    plugin: Plugin | None
    errors: list[UserError]


@strawberry.type
class PluginQuery:
    @strawberry.field(permission_classes=needs(CoreRole.ADMIN), description="Installed plugins and this tenant's settings.")
    async def plugins(self, info: Info) -> list[Plugin]:
        return [_plugin(v) for v in await plugin_settings.plugin_views(info.context.tenant.id, info.context.plugins)]


@strawberry.type
class PluginMutation:
    @strawberry.mutation(
        permission_classes=needs(CoreRole.ADMIN),
        description="Enable or disable a plugin for this tenant and/or change its settings (keys as `Plugin.settings` "
                    "names them). A secret left out or null keeps its stored value; an empty string clears it.",
    )
    async def plugin_settings_update(self, info: Info, plugin: str, enabled: bool | None = None,
                                     settings: JSON | None = None) -> PluginPayload:
        try:
            view = await plugin_settings.update_plugin_settings(info.context.tenant.id, plugin, enabled=enabled,
                                                                settings=settings, plugins=info.context.plugins)
        except DomainError as exc:
            return PluginPayload(plugin=None, errors=user_errors(exc))
        return PluginPayload(plugin=_plugin(view), errors=[])
