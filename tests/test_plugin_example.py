"""A third-party plugin as a partner ships it: tests/plugin_example is its own package. We build
its wheel and install it into a temporary directory put on sys.path, so importlib.metadata finds
its real entry point (the venv is not changed); then what it adds works end to end, seen only
through public surfaces: the GraphQL API, its webhook over HTTP, and the fake provider's records."""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seva_crm.core.platform import plugins as process_plugins
from seva_crm.plugin_api import Plugins, enqueue, tenant_global_id
from tests.jobs_support import inprocess_jobs  # noqa: F401 - fixture: jobs run in this process

EXAMPLE = Path(__file__).parent / "plugin_example"

CONFIGURE = """mutation($settings: JSON) { pluginSettingsUpdate(plugin: "hello", enabled: true, settings: $settings) {
  plugin { enabledForTenant settings { name isSet value } } errors { field code message } } }"""
CUSTOMER = """mutation($input: CustomerCreateInput!) { customerCreate(input: $input) {
  customer { id phone preferredChannel } errors { field code message } } }"""
SEND = """mutation($id: ID!, $t: String!, $v: JSON) { messageSend(customer: $id, template: $t, variables: $v) {
  message { id } errors { field code message } } }"""
PLAN = """mutation($input: PlanCreateInput!) { planCreate(input: $input) { plan { id } errors { field code message } } }"""
SUBSCRIBE = """mutation($input: SubscriptionCreateInput!) { subscriptionCreate(input: $input) {
  subscription { id } errors { field code message } } }"""
MESSAGES = """query($customer: ID!) { messages(customer: $customer) { edges { node {
  id template body channel status lastError deliveredAt } } } }"""


def pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def hello(tmp_path_factory, app):
    """seva-plugin-hello installed as a user would have it; yields its install directory. The
    session's app and plugins are made first, and plugins loaded meanwhile are dropped after:
    other tests never see it."""
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
    for name in [m for m in sys.modules if m == "seva_plugin_hello" or m.startswith("seva_plugin_hello.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    if process_plugins._plugins is not None and "hello" in process_plugins._plugins.loaded:
        process_plugins.set_plugins(None)  # loaded while it was installed: load them again without it


@pytest.fixture
def provider(hello):
    """The plugin's own fake of its provider, from the installed wheel."""
    from seva_plugin_hello.fake import FakeHello

    fake = FakeHello().start()
    yield fake
    fake.stop()


@pytest.fixture
def plugins(hello, provider, monkeypatch):
    """Every installed plugin, discovered through the entry points, the operator having pointed
    the hello plugin at its provider (here the fake) with SEVA_HELLO_BASE_URL."""
    monkeypatch.setenv("SEVA_HELLO_BASE_URL", provider.url)
    return Plugins()


def test_discovered_through_its_entry_point(plugins, provider):
    loaded = plugins.loaded["hello"]
    assert loaded.source == "seva-plugin-hello 0.1.0 (seva_plugin_hello.hooks)"
    assert loaded.hooks == ["seva_manifest", "seva_notification_channels", "seva_webhook_routes"]
    assert plugins.instance_settings("hello").base_url == provider.url
    assert {"whatsapp", "razorpay", "sms", "email"} <= plugins.loaded.keys()
    assert "hello" not in Plugins("-hello").loaded


def test_it_imports_only_the_facade_of_seva():
    for path in sorted(EXAMPLE.rglob("*.py")):
        imported = re.findall(r"^(?:from|import) (seva_crm[\w.]*)", path.read_text(), re.M)
        allowed = ("seva_crm.testing",) if path.name in ("fake.py", "test_hello.py") else ()
        for module in imported:
            assert module == "seva_crm.plugin_api" or module.startswith(allowed), f"{path.name} imports {module}"

PRIVACY_REQUEST = """mutation($input: PrivacyRequestCreateInput!) {
  privacyRequestCreate(input: $input) { privacyRequest { id status } errors { field code message } } }"""


async def wait_for(api, customer: str, template: str, status: str, timeout: float = 15.0) -> dict:
    """The customer's message of ``template`` once the API shows it in ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        edges = (await api.ok(MESSAGES, customer=customer))["messages"]["edges"]
        found = [e["node"] for e in edges if e["node"]["template"] == template]
        if found and found[0]["status"] == status:
            return found[0]
        assert time.monotonic() < deadline, f"no {template} message in {status}: {found}"
        await asyncio.sleep(0.05)


async def test_a_tenant_reaches_its_customer_through_hello_end_to_end(plugins, make_app, make_tenant, provider,
                                                                     inprocess_jobs):  # noqa: F811
    app = make_app(plugins)  # the app, and the process's plugins (jobs send through them)
    tenant, other = await make_tenant(app=app), await make_tenant(app=app)
    api = tenant.api

    # the tenant's admin enables the plugin and gives it the tenant's Hello SMS account
    update = (await api.ok(CONFIGURE, settings={"apiKey": provider.api_key,
                                                "webhookSecret": provider.webhook_secret}))["pluginSettingsUpdate"]
    assert update["errors"] == [] and update["plugin"]["enabledForTenant"]
    assert {"name": "apiKey", "isSet": True, "value": None} in update["plugin"]["settings"]  # a secret: never shown
    short = await api.ok(CONFIGURE, settings={"webhookSecret": "short"})
    assert [e["field"] for e in short["pluginSettingsUpdate"]["errors"]] == ["settings.webhookSecret"]

    # a customer who prefers the hello channel; a tenant without the plugin cannot choose it
    created = (await api.ok(CUSTOMER, input={"name": "Asha Devi", "phone": "98765 43210",
                                             "preferredChannel": "hello"}))["customerCreate"]
    assert created["errors"] == [] and created["customer"]["preferredChannel"] == "hello"
    asha = created["customer"]["id"]
    elsewhere = (await other.api.ok(CUSTOMER, input={"name": "Ravi", "phone": "98765 43211",
                                                     "preferredChannel": "hello"}))["customerCreate"]
    assert [e["field"] for e in elsewhere["errors"]] == ["preferredChannel"]

    # staff send her a message: it goes through the provider
    sent = await api.ok(SEND, id=asha, t="document_ready", v={"service": "PAN card", "centre": "Seva Kendra Ward 4"})
    assert sent["messageSend"]["errors"] == []
    ready = await wait_for(api, asha, "document_ready", "SENT")
    assert ready["channel"] == "hello" and "PAN card" in ready["body"]
    [accepted] = [m for m in provider.sent if m["text"] == ready["body"]]
    assert accepted["to"] == "+919876543210"

    # a monthly plan, a subscription: its first invoice is due today, and the scheduler's
    # reminder job (billing.reminders, run now) reminds her through hello
    plan = (await api.ok(PLAN, input={"name": "Home 50", "amount": 49900, "interval": "MONTHLY"}))["planCreate"]
    subscribed = await api.ok(SUBSCRIBE, input={"customerId": asha, "planId": plan["plan"]["id"]})
    assert plan["errors"] == [] and subscribed["subscriptionCreate"]["errors"] == []
    enqueue("billing.reminders")
    reminder = await wait_for(api, asha, "invoice_due", "SENT")
    assert reminder["channel"] == "hello" and reminder["lastError"] == ""
    [hm] = [m["id"] for m in provider.sent if m["text"] == reminder["body"]]

    # the provider's delivery report: a forged one is refused and changes nothing, a signed one delivers
    url = f"/webhooks/hello/reports/{tenant_global_id(tenant.id)}"
    body, headers = provider.report(hm, "delivered")
    forged = await api.http.post(url, content=body, headers={**headers, "x-hello-signature": "sha256=" + "0" * 64})
    assert forged.status_code == 401
    assert (await wait_for(api, asha, "invoice_due", "SENT"))["deliveredAt"] is None
    delivered = await api.http.post(url, content=body, headers=headers)
    assert delivered.status_code == 200 and delivered.json() == {"status": "ok", "applied": True}
    assert (await wait_for(api, asha, "invoice_due", "DELIVERED", timeout=0))["deliveredAt"] is not None
    # another tenant's URL does not reach this tenant's messages
    assert (await api.http.post(f"/webhooks/hello/reports/{tenant_global_id(other.id)}", content=body,
                                headers=headers)).status_code == 404

    # she asks for her data and wants the code by SMS: hello is the tenant's SMS (kind "sms"), so it carries it
    filed = (await api.ok(PRIVACY_REQUEST, input={"customerId": asha, "type": "ACCESS", "sendCodeVia": "sms"}))
    assert filed["privacyRequestCreate"]["errors"] == []
    code = await wait_for(api, asha, "privacy_code", "SENT")
    assert code["channel"] == "hello" and code["body"] == "verification code"  # the code is the subject's alone
    [sent_code] = [m for m in provider.sent if "privacy request" in m["text"]]
    assert sent_code["to"] == "+919876543210" and re.search(r"\b\d{6}\b", sent_code["text"])

    # a failed report for the first message: FAILED, with the provider's reason
    [first] = [m["id"] for m in provider.sent if m["text"] == ready["body"]]
    body, headers = provider.report(first, "failed", "absent subscriber")
    assert (await api.http.post(url, content=body, headers=headers)).json()["applied"] is True
    failed = await wait_for(api, asha, "document_ready", "FAILED", timeout=0)
    assert failed["lastError"] == "hello absent subscriber"


def test_its_own_tests_pass_as_the_docs_describe(hello, tmp_path):
    """A partner runs the plugin's tests with plain pytest, against an installed Seva CRM."""
    env = {**os.environ, "PYTHONPATH": str(hello), "SEVA_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                            cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_the_docs_show_this_example_as_it_is():
    docs = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    section = docs.split("## Write your first plugin", 1)[1].split("\n## ", 1)[0]
    files = sorted(p for p in EXAMPLE.rglob("*") if p.is_file() and p.suffix in (".py", ".toml"))
    assert [str(p.relative_to(EXAMPLE)) for p in files] == [
        "pyproject.toml", "seva_plugin_hello/__init__.py", "seva_plugin_hello/adapter.py",
        "seva_plugin_hello/client.py", "seva_plugin_hello/fake.py", "seva_plugin_hello/hooks.py",
        "seva_plugin_hello/settings.py", "seva_plugin_hello/webhooks.py", "tests/test_hello.py"]
    shown = dict(re.findall(r"```(?:python|toml)\n# (\S+)\n(.*?)```", section, re.DOTALL))
    for path in files:
        name = str(path.relative_to(EXAMPLE))
        assert shown.get(name) == path.read_text(), f"docs/plugins.md is out of step with {name}"
