from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from seva_crm.core.common.errors import Forbidden
from seva_crm.core.platform.plugins import Plugins, get_plugins
from seva_crm.core.common.principal import Principal, TenantScope
from seva_crm.schema.loaders import Loaders


@dataclass
class Context:
    request: Request
    principal: Principal | None
    plugins: Plugins = field(default_factory=get_plugins)  # the app's plugins
    loaders: Loaders = field(init=False)
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload
    authorization: str | None = None  # a WebSocket's token, checked again while it is open (schema/live.py)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.principal.tenant.id if self.principal and self.principal.tenant else None)

    def sign_in(self, principal: Principal, authorization: str) -> None:
        """A WebSocket signed in by its connection_init payload."""
        self.principal, self.authorization = principal, authorization
        self.__post_init__()

    @property
    def tenant(self) -> TenantScope:
        """The caller's tenant. Fields that use it declare ``needs(role)``, which guarantees one."""
        if self.principal is None or self.principal.tenant is None:
            raise Forbidden("not acting for a tenant")
        return self.principal.tenant

    @property
    def client_ip(self) -> str:
        return self.request.client.host if self.request.client else "unknown"
