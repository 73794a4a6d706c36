"""Test set-up: one real database for the session (SQLite file by default, or the PostgreSQL
database named by SEVA_TEST_DATABASE_URL), built by the project's own migrations. Tests isolate
themselves by creating their own tenants, as real tenants are isolated."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

_tmp = tempfile.mkdtemp(prefix="seva-test-")
os.environ["SEVA_ENV"] = "development"
os.environ["SEVA_DATA_DIR"] = _tmp
os.environ["SEVA_SECRET_KEY"] = "test-secret-key-0123456789-abcdefghijklmnop"
os.environ["SEVA_DATABASE_URL"] = os.environ.get("SEVA_TEST_DATABASE_URL") or f"sqlite://{_tmp}/test.sqlite3"

import httpx  # noqa: E402
import pytest  # noqa: E402

from seva_crm.core import runtime  # noqa: E402, F401 - every core job and periodic job
from seva_crm.core.storage.db import close_db, init_db, migrate  # noqa: E402
from seva_crm.core.common.enums import Region, Role  # noqa: E402
from seva_crm.core.common.principal import TenantScope  # noqa: E402
from seva_crm.core.common.settings import get_settings  # noqa: E402
from seva_crm.core.identity.tenants import create_api_key, create_tenant, create_user  # noqa: E402
from seva_crm.schema.app import create_app  # noqa: E402

PASSWORD = "correct-horse-battery"


def is_postgres() -> bool:
    return get_settings().db_url.startswith("postgres")


@pytest.fixture(scope="session", autouse=True)
async def database() -> AsyncIterator[None]:
    settings = get_settings()
    await migrate(settings)
    await init_db(settings)
    yield
    await close_db()


@pytest.fixture(scope="session")
def app():
    return create_app(manage_db=False)


class Api:
    """A GraphQL client for tests, signed in as one principal (or none)."""

    def __init__(self, app, token: str | None = None, ip: str = "127.0.0.1") -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 1234)),
                                      base_url="http://test", headers=headers)

    async def __call__(self, query: str, **variables) -> dict:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()

    async def ok(self, query: str, **variables) -> dict:
        """Run and return ``data``, failing the test on any top-level error."""
        body = await self(query, **variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]


@dataclass
class TenantFixture:
    id: uuid.UUID
    scope: TenantScope
    owner_email: str
    api: Api  # signed in as the owner

    async def api_as(self, role: Role) -> Api:
        email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
        await create_user(self.id, email, PASSWORD, role)
        return await login(self.api.http._transport.app, email)  # type: ignore[attr-defined]

    async def api_key(self, role: Role) -> Api:
        _, key = await create_api_key(self.id, "test", role)
        return Api(self.api.http._transport.app, key)  # type: ignore[attr-defined]


LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken refreshToken errors { field code message } }
}"""


async def login(app, email: str, password: str = PASSWORD) -> Api:
    data = await Api(app).ok(LOGIN, email=email, password=password)
    assert data["login"]["errors"] == [], data
    return Api(app, data["login"]["accessToken"])


@pytest.fixture
async def make_tenant(app):
    async def make(region: Region = Region.IN, name: str = "Test Centre") -> TenantFixture:
        email = f"owner-{uuid.uuid4().hex[:10]}@example.com"
        tenant, _ = await create_tenant(name, region, email, PASSWORD)
        return TenantFixture(tenant.id, TenantScope(tenant.id, tenant.region), email, await login(app, email))

    return make


@pytest.fixture
async def tenant(make_tenant) -> TenantFixture:
    return await make_tenant()


class QueryCounter(logging.Handler):
    """Counts SQL statements Tortoise sends (it logs each one on tortoise.db_client)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        self.logger = logging.getLogger("tortoise.db_client")
        self.saved_level = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.saved_level)


@pytest.fixture
def domain_events(monkeypatch):
    """Every domain event ``core.events`` delivers (after commit), in order."""
    from seva_crm.core.platform import events as core_events

    seen = []
    deliver = core_events._deliver

    async def capture(event, plugins):
        seen.append(event)
        await deliver(event, plugins)

    monkeypatch.setattr(core_events, "_deliver", capture)
    return seen


@pytest.fixture
def plugin_env(monkeypatch):
    """Set plugins' instance settings (``SEVA_<PLUGIN>_*`` variables: the providers' addresses,
    pointed at the local fakes); the process's plugins load again, reading them."""
    from seva_crm.core.platform.plugins import set_plugins

    def setenv(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        set_plugins(None)

    yield setenv
    set_plugins(None)  # before monkeypatch restores the environment: the next load reads it as it was
