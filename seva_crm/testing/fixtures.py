"""pytest fixtures for a Seva CRM plugin's tests (and Seva's own): in your ``conftest.py``,
``pytest_plugins = ["seva_crm.testing.fixtures"]``. See docs/testing.md.

Loading this module points the process at a fresh temporary data directory, a test secret key
and a test database: a SQLite file in that directory, or ``SEVA_TEST_DATABASE_URL`` (an empty
PostgreSQL database). The database is migrated once per session; tests isolate themselves by
making their own tenants, as real tenants are isolated.

- ``seva_plugins`` (session): the plugins the ``app`` is built with; every installed plugin
  unless you override the fixture (``Plugins(discover=False, extra=(my_plugin,))``).
- ``app`` (session): the ASGI app with ``seva_plugins``, which are also the process's plugins.
- ``make_app``: ``make_app(plugins)`` builds another app, its plugins the process's for the test.
- ``make_tenant``: ``await make_tenant(plugins={"hello": {"apiKey": "k"}})`` makes a tenant
  and its owner, names its privacy contact (``privacy_contact=None``: none), enables the given
  plugins with those settings, and signs the owner in.
- ``tenant``: one such tenant, no plugins enabled beyond their defaults.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

_data_dir = tempfile.mkdtemp(prefix="seva-test-")
os.environ.update({
    "SEVA_ENV": "development",
    "SEVA_DATA_DIR": _data_dir,
    "SEVA_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnop",
    "SEVA_DATABASE_URL": os.environ.get("SEVA_TEST_DATABASE_URL") or f"sqlite://{_data_dir}/test.sqlite3",
    # argon2 at its cheapest: tests sign in often, and the production cost is a setting of its own
    "SEVA_PASSWORD_HASH_TIME_COST": "1", "SEVA_PASSWORD_HASH_MEMORY_KIB": "1024", "SEVA_PASSWORD_HASH_PARALLELISM": "1",
})

import pytest  # noqa: E402
import pytest_asyncio  # noqa: E402

from seva_crm.core import runtime  # noqa: E402, F401 - every core job and periodic job
from seva_crm.core.common.enums import Region  # noqa: E402
from seva_crm.core.common.principal import TenantScope  # noqa: E402
from seva_crm.core.common.settings import get_settings  # noqa: E402
from seva_crm.core.identity.tenants import create_tenant  # noqa: E402
from seva_crm.core.platform import plugins as plugins_module  # noqa: E402
from seva_crm.core.platform.plugin_settings import update_plugin_settings  # noqa: E402
from seva_crm.core.platform.plugins import Plugins, get_plugins, set_plugins  # noqa: E402
from seva_crm.core.platform.database import close_db, init_db, migrate  # noqa: E402
from seva_crm.core.privacy.profile import update_profile  # noqa: E402
from seva_crm.schema.app import create_app  # noqa: E402
from seva_crm.testing.client import PASSWORD, TenantFixture, login  # noqa: E402

get_settings.cache_clear()  # in case anything read the settings before the variables above were set


def pytest_unconfigure(config) -> None:
    shutil.rmtree(_data_dir, ignore_errors=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def database() -> AsyncIterator[None]:
    """The test database, migrated by Seva's own migrations and open for the session."""
    settings = get_settings()
    await migrate(settings)
    await init_db(settings)
    yield
    await close_db()


@pytest.fixture(scope="session")
def seva_plugins() -> Plugins:
    """The plugins the session's ``app`` is built with: the installed ones, as ``seva serve``
    loads them. Override it in your conftest.py to choose:
    ``return Plugins(discover=False, extra=(my_plugin,))``."""
    return get_plugins()


@pytest.fixture(scope="session")
def app(seva_plugins: Plugins) -> Iterator[Any]:
    """The ASGI app built with ``seva_plugins``; they are also the process's plugins, which the
    services use (domain events, channels, gateways, privacy fan-outs)."""
    set_plugins(seva_plugins)
    yield create_app(manage_db=False, plugins=seva_plugins)
    set_plugins(None)


@pytest.fixture
def make_app(monkeypatch):
    """``make_app(Plugins(discover=False, extra=(plugin,)))``: an ASGI app built with those
    plugins, which are the process's plugins until the test ends."""

    def make(plugins: Plugins):
        monkeypatch.setattr(plugins_module, "_plugins", plugins)
        return create_app(manage_db=False, plugins=plugins)

    return make


# the privacy contact (grievance officer) a test tenant names unless told otherwise: Seva takes no
# privacy request before a tenant named one (DPDP Rule 9)
PRIVACY_CONTACT: Mapping[str, str] = {"name": "Grievance Officer", "email": "grievance@example.com"}


@pytest.fixture
def make_tenant(app):
    """``await make_tenant(region=Region.IN, name="Test Centre", plugins=None, app=None,
    privacy_contact=PRIVACY_CONTACT)``: a new tenant and its owner, signed in on ``app``
    (default the session's). ``plugins`` maps plugin ids to the settings to enable them with,
    named as the API names them (``{"apiKey": "k"}``). ``privacy_contact`` (``name`` and
    ``email`` and/or ``phone``) is set as the tenant's privacy contact; ``None`` leaves the
    tenant without one (it then takes no privacy request)."""
    default_app = app

    async def make(region: Region = Region.IN, name: str = "Test Centre", *,
                   plugins: Mapping[str, Mapping[str, Any]] | None = None, app=None,
                   privacy_contact: Mapping[str, str] | None = PRIVACY_CONTACT) -> TenantFixture:
        app = app or default_app
        email = f"owner-{uuid.uuid4().hex[:10]}@example.com"
        tenant, _ = await create_tenant(name, region, email, PASSWORD)
        scope = TenantScope(tenant.id, tenant.region)
        if privacy_contact is not None:
            await update_profile(scope, {f"contact_{k}": v for k, v in privacy_contact.items()})
        for plugin_id, settings in (plugins or {}).items():
            await update_plugin_settings(tenant.id, plugin_id, enabled=True, settings=dict(settings))
        return TenantFixture(tenant.id, scope, email, await login(app, email), app)

    return make


@pytest_asyncio.fixture(loop_scope="session")
async def tenant(make_tenant) -> TenantFixture:
    """A new tenant with a signed-in owner."""
    return await make_tenant()
