"""A third-party plugin as a partner ships it: tests/plugin_example is its own package. We build
its wheel and install it into a temporary directory put on sys.path, so importlib.metadata finds
its real entry point (the venv is not changed); then what it adds works end to end."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest

import seva_crm.core.platform.plugins
from seva_crm.core.platform.channels import OutgoingMessage, Purpose, Recipient
from seva_crm.core.platform.plugins import Plugins
from seva_crm.core.platform.tenant_plugins import notification_channels, plugin_config
from seva_crm.schema.app import create_app

EXAMPLE = Path(__file__).parent / "plugin_example"


def pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    """seva-plugin-hello installed as a user would have it; yields its install directory."""
    work = tmp_path_factory.mktemp("hello")
    source, wheels, site = work / "src", work / "wheels", work / "site"
    shutil.copytree(EXAMPLE, source)  # build out of tree: leave no build/ or egg-info in the repository
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source))
    [wheel] = wheels.glob("seva_plugin_hello-0.1.0-*.whl")
    pip("install", "--no-deps", "--no-index", "--target", str(site), str(wheel))
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site))
    sys.modules.pop("seva_plugin_hello", None)
    importlib.invalidate_caches()


@pytest.fixture
def plugins(hello, monkeypatch):
    """Every installed plugin, discovered through the entry points, as the process's plugins."""
    found = Plugins()
    monkeypatch.setattr(seva_crm.core.platform.plugins, "_plugins", found)
    return found


def test_discovered_through_its_entry_point(plugins):
    loaded = plugins.loaded["hello"]
    assert loaded.source == "seva-plugin-hello 0.1.0 (seva_plugin_hello)"
    assert loaded.hooks == ["seva_graphql", "seva_manifest", "seva_notification_channels", "seva_webhook_routes"]
    assert {"whatsapp", "razorpay", "sms", "email"} <= plugins.loaded.keys()
    assert "hello" not in Plugins("-hello").loaded


async def test_channel_graphql_field_and_webhook_work_end_to_end(plugins, make_tenant):
    import seva_plugin_hello

    app = create_app(manage_db=False, plugins=plugins)
    tenant, other = await make_tenant(app=app), await make_tenant(app=app)
    api = tenant.api
    assert (await api.ok("{ helloStatus }"))["helloStatus"] == "hello is off"
    update = await api.ok('mutation { pluginSettingsUpdate(plugin: "hello", enabled: true, settings: {greeting: "Namaste", apiKey: "k-123"}) '
                          "{ plugin { enabledForTenant settings { name isSet value } } errors { field message } } }")
    assert update["pluginSettingsUpdate"]["errors"] == []
    assert {"name": "apiKey", "isSet": True, "value": None} in update["pluginSettingsUpdate"]["plugin"]["settings"]
    assert (await api.ok("{ helloStatus }"))["helloStatus"] == "hello is on"
    assert (await other.api.ok("{ helloStatus }"))["helloStatus"] == "hello is off"

    response = await api.http.post("/webhooks/hello/delivery", json={"id": "report-1"})
    assert response.status_code == 200 and response.json() == {"received": "report-1"}

    assert "hello" not in await notification_channels(other.id)
    offer = (await notification_channels(tenant.id))["hello"]
    message = OutgoingMessage(id=uuid4(), tenant_id=tenant.id, channel="hello", purpose=Purpose.SERVICE,
                              template="ready", body="your certificate is ready", variables={}, idempotency_key="m1",
                              recipient=Recipient(None, "Asha", "+919876543210", None, "hi"))
    result = await offer.adapter.send(message, await plugin_config(tenant.id, "hello"))
    assert result.provider_id.startswith("hello-")
    assert seva_plugin_hello.channel.outbox[-1] == "Namaste, Asha: your certificate is ready"


def test_its_own_tests_pass_as_the_docs_describe(hello, tmp_path):
    """A partner runs the plugin's tests with plain pytest, against an installed Seva CRM."""
    env = {**os.environ, "PYTHONPATH": str(hello), "SEVA_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                            cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_docs_show_this_example_as_it_is():
    docs = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    assert (EXAMPLE / "pyproject.toml").read_text() in docs
    for path in (EXAMPLE / "seva_plugin_hello" / "__init__.py", EXAMPLE / "tests" / "test_hello.py"):
        code = path.read_text().split('"""\n\n', 1)[1].replace("from __future__ import annotations\n\n", "")
        assert code in docs, f"docs/plugins.md is out of step with {path.name}"
