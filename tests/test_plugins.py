"""The plugin contract. Every hookspec is documented (in core/hookspecs.py and docs/plugins.md,
with its arguments) and has a ``test_hook_<name>`` here that drives the production code that calls
it, using one test plugin that implements every hook. Then: loading rules (SEVA_PLUGINS,
manifests, misspelt hooks, GraphQL clashes) and domain events after commit."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import sys
import time
from pathlib import Path
from uuid import UUID

import dramatiq
import pytest
import strawberry
from pluggy import PluginValidationError
from pydantic import BaseModel, SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry import Info
from tortoise.transactions import in_transaction

from seva_crm.core import jobs
from seva_crm.core.billing.gateways import LinkRequest, LinkResult
from seva_crm.core.common.enums import Region, Role
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.jobs.schedule import Scheduler
from seva_crm.core.models import SchedulerLease, Tenant
from seva_crm.core.platform import events, hookspecs
from seva_crm.core.platform.channels import SendResult
from seva_crm.core.platform.hookspecs import hookimpl
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.core.platform.plugin_types import DomainEvent, GraphQLContribution, PluginManifest, ScheduledJob
from seva_crm.core.platform.plugins import PluginError, Plugins, parse_selection
from seva_crm.core.platform.tenant_plugins import plugin_config, tenant_hook
from seva_crm.core.storage.transactions import transaction
from seva_crm.plugins.bangladesh.adapter import BangladeshPolicy
from seva_crm.plugins.dpdp.adapter import DpdpPolicy
from seva_crm.schema.build import build_schema
from seva_crm.schema.permissions import needs
from seva_crm.testing.client import Api
from tests.jobs_support import settle
from tests.test_customers import create
from tests.test_privacy_requests import VERIFY, approve, file

HOOKS = sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("seva_"))
DOCS = Path(__file__).parents[1] / "docs" / "plugins.md"
SETTINGS = {"apiToken": "t0ken"}  # what enabling the Everything plugin takes


# --- a plugin that implements every hook -----------------------------------------------------

class EverythingSettings(BaseModel):
    greeting: str = "hello"
    api_token: SecretStr


@strawberry.type
class EverythingQuery:
    @strawberry.field(permission_classes=needs(Role.VIEWER))
    async def everything_greeting(self, info: Info) -> str:
        config = await plugin_config(info.context.tenant.id, "everything")
        return f"{config.greeting} from everything" if config else "not configured"


@strawberry.type
class EverythingMutation:
    @strawberry.mutation(permission_classes=needs(Role.AGENT))
    def everything_echo(self, text: str) -> str:
        return text


async def ping(request: Request) -> JSONResponse:
    return JSONResponse({"plugin": "everything", "body": (await request.body()).decode()})


class Channel:
    name = "everything"

    def __init__(self) -> None:
        self.sent: list[tuple[object, object]] = []

    def can_reach(self, recipient) -> bool:
        return recipient.phone is not None

    async def send(self, message, settings) -> SendResult:
        self.sent.append((message, settings))
        return SendResult(provider_id=f"ev-{len(self.sent)}")


class Gateway:
    """Payment links at a pretend gateway, for tenants that gave it an API token."""

    name = "everything-pay"

    def __init__(self) -> None:
        self.links: list[LinkRequest] = []

    async def is_configured(self, tenant_id: UUID) -> bool:
        return await plugin_config(tenant_id, "everything") is not None

    async def create_payment_link(self, request: LinkRequest) -> LinkResult:
        self.links.append(request)
        return LinkResult(provider_id=f"ev-link-{len(self.links)}", short_url=f"https://pay.example/{len(self.links)}",
                          status="created")


class Policy:
    """A region's law as the built-in plugin has it, under this plugin's name, configured with
    the tenant's settings for this plugin (its greeting shows in the name)."""

    def __init__(self, law, greeting: str = "hello") -> None:
        self.law, self.region, self.name = law, law.region, f"Everything's {law.region} law, {greeting}"

    def configured(self, values) -> Policy:
        return Policy(self.law, values.get("greeting", "hello"))

    def __getattr__(self, name: str):
        return getattr(self.law, name)


class Fanout:
    def __init__(self) -> None:
        self.calls: list[tuple[str, UUID, UUID]] = []

    async def export(self, tenant_id: UUID, customer_id: UUID) -> dict:
        self.calls.append(("export", tenant_id, customer_id))
        return {"notes": ["prefers mornings"]}

    async def erase(self, tenant_id: UUID, customer_id: UUID) -> dict:
        self.calls.append(("erase", tenant_id, customer_id))
        return {"erased": 1, "kept": [{"count": 1, "basis": "an open dispute", "citation": "Everything terms s.3"}]}


class Everything:
    def __init__(self, plugin_id: str = "everything") -> None:
        self.id = plugin_id
        self.events: list[DomainEvent] = []
        self.channel, self.gateway, self.fanout = Channel(), Gateway(), Fanout()
        self.broker, self.ticks = None, []

    @hookimpl
    def seva_manifest(self) -> PluginManifest:
        return PluginManifest(id=self.id, name="Everything", version="1.2.3", description="Implements every hook",
                              settings_model=EverythingSettings)

    @hookimpl
    def seva_notification_channels(self):
        return [self.channel]

    @hookimpl
    def seva_payment_gateways(self):
        return [self.gateway]

    @hookimpl
    def seva_region_policies(self):
        return [Policy(DpdpPolicy()), Policy(BangladeshPolicy())]

    @hookimpl
    def seva_graphql(self):
        return GraphQLContribution(query=EverythingQuery, mutation=EverythingMutation)

    @hookimpl
    def seva_webhook_routes(self):
        return [Route("/ping", ping, methods=["POST"])]

    @hookimpl
    def seva_actors(self, broker) -> None:
        self.broker = broker
        dramatiq.actor(self.ticks.append, actor_name="everything_tick", queue_name=jobs.QUEUE, broker=broker)

    @hookimpl
    def seva_scheduled_jobs(self):
        return [ScheduledJob(name="everything.tick", every_seconds=60, actor_name="everything_tick")]

    @hookimpl
    def seva_domain_event(self, event: DomainEvent) -> None:
        self.events.append(event)

    @hookimpl
    def seva_privacy_fanout(self):
        return self.fanout


@pytest.fixture
def everything(make_app):
    """The Everything plugin as the process's plugins (the only ones), and an app built with them."""
    plugin = Everything()
    plugin.plugins = Plugins(discover=False, extra=(plugin,))
    plugin.app = make_app(plugin.plugins)
    return plugin


@pytest.fixture
async def everything_jobs(everything):
    """Jobs in-process with the Everything plugin, as ``seva serve`` runs them without a broker."""
    broker = await asyncio.to_thread(jobs.setup_jobs, "")
    runner = jobs.Runner(broker, threads=2).start()
    yield broker
    await asyncio.to_thread(runner.stop)
    jobs.reset_jobs()


async def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


# --- the contract itself ---------------------------------------------------------------------

def spec_arguments(name: str) -> list[str]:
    return list(getattr(Plugins(discover=False).pm.hook, name).spec.argnames)


def documented_arguments(text: str) -> list[str]:
    """The arguments an "Arguments:" text names: bare lower_snake_case identifiers in backticks
    (type names are Capitalised, event names dotted); "none" names none."""
    return re.findall(r"`+([a-z_][a-z0-9_]*)`+", text)


def test_every_hookspec_has_a_docstring_and_is_in_the_docs():
    docs = DOCS.read_text()
    for name in HOOKS:
        spec = getattr(hookspecs, name)
        assert spec.__doc__ and len(spec.__doc__.strip()) > 40, f"{name} needs a docstring"
        for part in ("Arguments", "Returns", "When"):
            assert part in spec.__doc__, f"{name}'s docstring should say {part}"
        assert f"### `{name}`" in docs, f"{name} is not documented in docs/plugins.md"


def test_every_hooks_arguments_are_documented_under_its_heading():
    """docs/plugins.md: the first line of the "- Arguments:" item under ``### `name``` lists the
    hookspec's arguments (or says none); the hookspec's docstring does too, before "Returns:"."""
    docs = DOCS.read_text()
    for name in HOOKS:
        expected = spec_arguments(name)
        section = docs.split(f"### `{name}`\n", 1)[1].split("\n#", 1)[0]
        line = re.search(r"^- Arguments:(.*)$", section, re.MULTILINE)
        assert line, f"docs/plugins.md has no '- Arguments:' line for {name}"
        assert documented_arguments(line.group(1)) == expected, f"docs/plugins.md: {name} takes {expected}"
        assert expected or line.group(1).strip().startswith("none"), f"docs/plugins.md: say {name} takes none"
        docstring = " ".join(getattr(hookspecs, name).__doc__.split())
        said = docstring.split("Arguments:", 1)[1].split("Returns:", 1)[0]
        assert documented_arguments(said) == expected, f"{name}'s docstring: it takes {expected}"


def test_hookimpls_take_the_hookspecs_arguments():
    """The test plugin takes every argument each hook offers (so the tests below see them all),
    by the hookspec's names; pluggy passes arguments by name."""
    plugins = Plugins(discover=False, extra=(Everything(),))
    for name in HOOKS:
        [impl] = getattr(plugins.pm.hook, name).get_hookimpls()
        assert list(impl.argnames) == spec_arguments(name), name


def test_every_hookspec_has_a_test():
    tests = {name for name in dir(sys.modules[__name__]) if name.startswith("test_hook_")}
    assert tests == {f"test_hook_{name}" for name in HOOKS}


def test_the_everything_plugin_implements_every_hook(everything):
    assert everything.plugins.loaded["everything"].hooks == HOOKS


# --- one test per hook, through the production code that calls it ---------------------------

async def test_hook_seva_manifest(everything, make_tenant):
    tenant = await make_tenant(app=everything.app, plugins={"everything": SETTINGS})
    data = await tenant.api.ok("{ plugins { id name version description hooks source enabledForTenant "
                               "settings { name secret isSet required value } } }")
    assert data["plugins"] == [{
        "id": "everything", "name": "Everything", "version": "1.2.3", "description": "Implements every hook",
        "hooks": HOOKS, "source": "registered in code", "enabledForTenant": True,
        "settings": [{"name": "greeting", "secret": False, "isSet": False, "required": False, "value": "hello"},
                     {"name": "apiToken", "secret": True, "isSet": True, "required": True, "value": None}],
    }]


async def test_hook_seva_graphql(everything, make_tenant):
    tenant = await make_tenant(app=everything.app)
    api = tenant.api
    assert (await api.ok("{ everythingGreeting }"))["everythingGreeting"] == "not configured"
    await update_plugin_settings(tenant.id, "everything", enabled=True, settings={**SETTINGS, "greeting": "namaste"})
    assert (await api.ok("{ everythingGreeting }"))["everythingGreeting"] == "namaste from everything"
    assert (await api.ok('mutation { everythingEcho(text: "hi") }'))["everythingEcho"] == "hi"
    assert "everythingGreeting" in build_schema(everything.plugins).as_str()
    assert "everythingGreeting" not in build_schema(Plugins()).as_str()  # the installed plugins add nothing


async def test_hook_seva_webhook_routes(everything):
    response = await Api(everything.app).http.post("/webhooks/everything/ping", content=b"raw body")
    assert response.status_code == 200
    assert response.json() == {"plugin": "everything", "body": "raw body"}
    assert (await Api(everything.app).http.post("/webhooks/other/ping")).status_code == 404


SEND = """mutation($customer: ID!) { messageSend(customer: $customer, template: "document_ready",
  variables: {service: "PAN card", centre: "Ward 4 CSC"}) { message { id } errors { code } } }"""


async def test_hook_seva_notification_channels(everything, everything_jobs, make_tenant):
    """The outbox sends through the channel of a tenant that enabled the plugin, with its settings."""
    on = await make_tenant(app=everything.app, plugins={"everything": SETTINGS})
    off = await make_tenant(app=everything.app)
    sent = {}
    for tenant in (on, off):
        await Tenant.filter(id=tenant.id).update(channel_fallback=["everything"])
        customer = (await create(tenant.api, name="Asha Devi", phone="9876543210"))["customer"]
        message = (await tenant.api.ok(SEND, customer=customer["id"]))["messageSend"]["message"]
        [sent[tenant.id]] = await settle(from_global_id(message["id"], "Message"))
    assert (sent[on.id].status, sent[on.id].channel, sent[on.id].provider_id) == ("sent", "everything", "ev-1")
    assert sent[off.id].status == "failed" and "no channel" in sent[off.id].last_error
    [(message, settings)] = everything.channel.sent
    assert message.tenant_id == on.id and message.body.startswith("Hello Asha Devi, your PAN card is ready")
    assert settings.api_token.get_secret_value() == "t0ken"


LINK = "mutation($i: ID!) { paymentLinkCreate(invoiceId: $i) { paymentLink { provider providerId shortUrl } errors { message } } }"
INVOICE = """mutation($c: ID!) { invoiceCreate(input: {customerId: $c, lines: [{description: "Visit", unitAmount: 30000}]}) {
  invoice { id number } } }"""


async def test_hook_seva_payment_gateways(everything, make_tenant):
    """Billing's payment links go through the gateway of a tenant that enabled the plugin, and not
    of one that has it configured but disabled."""
    on = await make_tenant(app=everything.app, plugins={"everything": SETTINGS})
    disabled = await make_tenant(app=everything.app, plugins={"everything": SETTINGS})
    await update_plugin_settings(disabled.id, "everything", enabled=False)
    links = {}
    for tenant in (on, disabled):
        customer = (await create(tenant.api, name="Asha Devi", phone="9876543210"))["customer"]
        invoice = (await tenant.api.ok(INVOICE, c=customer["id"]))["invoiceCreate"]["invoice"]
        links[tenant.id] = (await tenant.api.ok(LINK, i=invoice["id"]))["paymentLinkCreate"]
        if tenant is on:
            number = invoice["number"]
    assert links[on.id] == {"paymentLink": {"provider": "everything-pay", "providerId": "ev-link-1",
                                            "shortUrl": "https://pay.example/1"}, "errors": []}
    assert links[disabled.id] == {"paymentLink": None, "errors": [{"message": "no payment gateway is set up for this tenant"}]}
    [request] = everything.gateway.links
    assert (request.tenant_id, request.reference_id, request.amount, request.customer_name) == (on.id, number, 30000, "Asha Devi")


POLICY = "{ privacyPolicy { region name } }"


async def test_hook_seva_region_policies(everything, make_tenant):
    """A tenant's privacy policy is the plugin's for its region, whether or not the tenant enabled
    the plugin, configured with the tenant's settings for it."""
    configured = await make_tenant(app=everything.app, plugins={"everything": {**SETTINGS, "greeting": "namaste"}})
    india = await make_tenant(app=everything.app)
    bangladesh = await make_tenant(Region.BD, app=everything.app)
    assert (await configured.api.ok(POLICY))["privacyPolicy"] == {"region": "IN", "name": "Everything's IN law, namaste"}
    assert (await india.api.ok(POLICY))["privacyPolicy"] == {"region": "IN", "name": "Everything's IN law, hello"}
    assert (await bangladesh.api.ok(POLICY))["privacyPolicy"] == {"region": "BD", "name": "Everything's BD law, hello"}


async def test_hook_seva_actors(everything, everything_jobs):
    """``setup_jobs`` has the plugin declare its actors on the process's broker; enqueued, they run."""
    assert everything.broker is everything_jobs is jobs.get_broker()
    jobs.enqueue("everything_tick", "first")
    await wait_until(lambda: everything.ticks)
    assert everything.ticks == ["first"]


async def test_hook_seva_scheduled_jobs(everything, everything_jobs):
    """A scheduler tick enqueues the plugin's job (its actor) with core's, once per interval."""
    await SchedulerLease.filter(name="everything.tick").delete()
    sent: list[str] = []
    scheduler = Scheduler(send=sent.append)
    assert "everything.tick" in await scheduler.tick()
    assert "everything.tick" not in await scheduler.tick()  # once per interval
    assert sent.count("everything_tick") == 1 and "outbox.sweep" in [j.name for j in scheduler.jobs]
    assert everything_jobs.get_actor("everything_tick")  # the actor it names exists


async def test_hook_seva_privacy_fanout(everything, everything_jobs, make_tenant, monkeypatch):
    """Access requests export, and erasure requests erase, what the plugin holds for tenants that
    enabled it, or used it and turned it off since; what it must keep is listed with its reason."""
    from seva_crm.core.messaging import outbox

    monkeypatch.setattr(outbox, "enqueue_send", lambda *args, **kwargs: None)  # codes and alerts: not this test's
    on = await make_tenant(app=everything.app, plugins={"everything": SETTINGS})
    was = await make_tenant(app=everything.app, plugins={"everything": SETTINGS})
    await was.api.ok('mutation { pluginSettingsUpdate(plugin: "everything", enabled: false) { errors { code } } }')
    off = await make_tenant(app=everything.app)
    done, customers = {}, {}
    for tenant in (on, was, off):
        customer = (await create(tenant.api, name="Asha Devi", phone="9876543210"))["customer"]
        customers[tenant.id] = from_global_id(customer["id"], "Customer")
        for kind in ("ACCESS", "ERASURE"):
            request = (await file(tenant.api, customer["id"], kind))["privacyRequest"]
            await tenant.api.ok(VERIFY, id=request["id"], reason="known in person")
            done[tenant.id, kind] = await approve(tenant.api, request["id"])
    assert everything.fanout.calls == [(step, t.id, customers[t.id]) for t in (on, was) for step in ("export", "erase")]
    shared = {"recipient": "Everything", "what": "data the plugin stores itself"}
    assert shared in done[on.id, "ACCESS"]["sharedWith"] and shared not in done[off.id, "ACCESS"]["sharedWith"]
    assert done[on.id, "ERASURE"]["status"] == "COMPLETED_WITH_RETENTION"
    assert {"table": "plugin:everything", "count": 1, "basis": "an open dispute", "citation": "Everything terms s.3",
            "retainUntil": None} in done[on.id, "ERASURE"]["kept"]
    assert all(k["table"] != "plugin:everything" for k in done[off.id, "ERASURE"]["kept"])


async def test_hook_seva_domain_event(everything, make_tenant):
    on = await make_tenant(app=everything.app, plugins={"everything": SETTINGS})
    off = await make_tenant(app=everything.app)
    for tenant in (on, off):
        api = tenant.api
        customer = (await create(api, name="Asha Devi", phone="9876543210"))["customer"]
        await api.ok('mutation($id: ID!) { customerUpdate(id: $id, input: {notes: "x"}) { errors { code } } }', id=customer["id"])
        await api.ok("mutation($id: ID!) { customerDelete(id: $id) { errors { code } } }", id=customer["id"])
        await api.ok("mutation($id: ID!) { customerRestore(id: $id) { errors { code } } }", id=customer["id"])
    assert [e.name for e in everything.events] == ["customer.created", "customer.updated", "customer.deleted", "customer.restored"]
    assert {e.tenant_id for e in everything.events} == {on.id}  # the tenant that did not enable it heard nothing
    assert len({e.subject_id for e in everything.events}) == 1
    assert everything.events[1].data == {"fields": ["notes"]}
    assert "Asha" not in repr(everything.events) and "9876543210" not in repr(everything.events)


# --- loading ---------------------------------------------------------------------------------

def test_seva_plugins_allows_and_denies_by_id():
    assert parse_selection("") == (set(), set())
    assert parse_selection(" whatsapp, sms ,") == ({"whatsapp", "sms"}, set())
    assert parse_selection("-razorpay") == (set(), {"razorpay"})
    assert set(Plugins("").loaded) >= {"email", "razorpay", "sms", "whatsapp"}
    assert set(Plugins("whatsapp,sms").loaded) == {"whatsapp", "sms"}
    assert "razorpay" not in Plugins("-razorpay").loaded and "whatsapp" in Plugins("-razorpay").loaded


def test_built_in_plugins_come_from_the_entry_point_group():
    plugins = Plugins("whatsapp,razorpay,sms,email")
    for pid in ("whatsapp", "razorpay", "sms", "email"):
        loaded = plugins.loaded[pid]
        assert loaded.source.startswith("seva-crm ") and f"(seva_crm.plugins.{pid}.hooks)" in loaded.source
        assert loaded.manifest.settings_model is not None and "seva_manifest" in loaded.hooks


def test_a_plugin_without_a_manifest_is_refused():
    class NoManifest:
        @hookimpl
        def seva_scheduled_jobs(self):
            return []

    with pytest.raises(PluginError, match="no seva_manifest hook"):
        Plugins(discover=False, extra=(NoManifest(),))


def test_a_misspelt_hook_is_refused_at_start_up():
    class Misspelt(Everything):
        @hookimpl
        def seva_domain_events(self, event) -> None:  # the hook is seva_domain_event
            pass

    with pytest.raises(PluginValidationError, match="seva_domain_events"):
        Plugins(discover=False, extra=(Misspelt(),))


def test_two_plugins_with_one_id_are_refused():
    with pytest.raises(PluginError, match="two plugins claim the id 'everything'"):
        Plugins(discover=False, extra=(Everything(), Everything()))


def test_a_graphql_field_clash_names_both_plugins():
    with pytest.raises(PluginError, match=r"Query.everythingGreeting is defined by both plugin 'one' and plugin 'two'"):
        build_schema(Plugins(discover=False, extra=(Everything("one"), Everything("two"))))


def test_a_graphql_field_clash_with_core_names_core():
    @strawberry.type
    class Sneaky:
        @strawberry.field
        def customers(self) -> str:
            return "mine"

    class Clashing(Everything):
        @hookimpl
        def seva_graphql(self):
            return GraphQLContribution(query=Sneaky)

    with pytest.raises(PluginError, match=r"Query.customers is defined by both core and plugin 'clashing'"):
        build_schema(Plugins(discover=False, extra=(Clashing("clashing"),)))


# --- per-tenant hook calls and events after commit --------------------------------------------

async def test_tenant_hooks_skip_disabled_plugins_without_a_new_manager(everything, make_tenant):
    on = await make_tenant(app=everything.app, plugins={"everything": SETTINGS})
    off = await make_tenant(app=everything.app)
    assert (await tenant_hook(on.id, "seva_domain_event")).get_hookimpls()
    assert (await tenant_hook(off.id, "seva_domain_event")).get_hookimpls() == []
    assert await tenant_hook(off.id, "seva_domain_event") is await tenant_hook(off.id, "seva_domain_event")
    await update_plugin_settings(on.id, "everything", enabled=False, plugins=everything.plugins)
    await events.emit(events.new_event("customer.created", on.id, UUID(int=1)))
    assert everything.events == []


async def test_events_wait_for_commit_and_vanish_on_rollback(everything, make_tenant):
    tenant = await make_tenant(app=everything.app, plugins={"everything": SETTINGS})
    event = events.new_event("customer.created", tenant.id, UUID(int=2))
    async with transaction():
        await events.emit(event)
        async with transaction():
            await events.emit(event)
        assert everything.events == []  # not yet committed
    assert everything.events == [event, event]

    with pytest.raises(ZeroDivisionError):
        async with transaction():
            await events.emit(event)
            raise ZeroDivisionError
    assert len(everything.events) == 2

    with pytest.raises(RuntimeError, match="inside in_transaction"):
        async with in_transaction():
            await events.emit(event)


async def test_a_failing_plugin_does_not_undo_the_change(everything, make_tenant, caplog):
    tenant = await make_tenant(app=everything.app, plugins={"everything": SETTINGS})

    def broken(event):
        raise ValueError("boom")

    everything.plugins.pm.hook.seva_domain_event.get_hookimpls()[0].function = broken  # what pluggy calls
    with caplog.at_level(logging.ERROR, "seva.events"):
        data = await create(tenant.api, name="Still Saved", phone="9876543299")
    assert data["errors"] == [] and data["customer"]["id"]
    assert "plugin everything failed on event customer.created" in caplog.text
