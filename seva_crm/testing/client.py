"""A GraphQL client for tests, and a tenant with a signed-in owner (what ``make_tenant`` returns)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

from seva_crm.core.common.enums import Role
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.identity.tenants import create_api_key, create_user

PASSWORD = "correct-horse-battery"  # every test user's password

LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken refreshToken errors { field code message } }
}"""


class Api:
    """A GraphQL client for an ASGI app (no server), signed in as one principal (or none).
    ``http`` is the underlying ``httpx.AsyncClient``, for other routes (webhooks)."""

    def __init__(self, app, token: str | None = None, ip: str = "127.0.0.1") -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 1234)),
                                      base_url="http://test", headers=headers)

    async def __call__(self, query: str, **variables) -> dict:
        """Run a query; returns the whole response body (``data`` and any ``errors``)."""
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()

    async def ok(self, query: str, **variables) -> dict:
        """Run and return ``data``, failing the test on any top-level error."""
        body = await self(query, **variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]


async def login(app, email: str, password: str = PASSWORD) -> Api:
    """Sign in through the API; returns a client carrying the access token."""
    data = await Api(app).ok(LOGIN, email=email, password=password)
    assert data["login"]["errors"] == [], data
    return Api(app, data["login"]["accessToken"])


@dataclass
class TenantFixture:
    """A tenant made for one test: its id, its scope (for calling core services), its owner's
    email and an ``api`` client signed in as the owner, on ``app``."""

    id: uuid.UUID
    scope: TenantScope
    owner_email: str
    api: Api
    app: object

    async def api_as(self, role: Role) -> Api:
        """A client signed in as a new staff user with ``role``."""
        email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
        await create_user(self.id, email, PASSWORD, role)
        return await login(self.app, email)

    async def api_key(self, role: Role) -> Api:
        """A client using a new API key with ``role``."""
        _, key = await create_api_key(self.id, "test", role)
        return Api(self.app, key)
