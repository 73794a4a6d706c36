"""The plugin contract. Every hookspec is documented (in core/hookspecs.py and docs/plugins.md)
and has a ``test_hook_<name>`` here that calls it through the real code path, using one test
plugin that implements every hook. Then: loading rules (SEVA_PLUGINS, manifests, misspelt hooks,
GraphQL clashes) and domain events after commit."""

from __future__ import annotations

import inspect
import logging
import sys
from pathlib import Path
from uuid import UUID

import dramatiq
import pytest
import strawberry
from dramatiq.brokers.stub import StubBroker
from pluggy import PluginValidationError
from pydantic import BaseModel, SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry import Info
from tortoise.transactions import in_transaction

import seva_crm.core.platform.plugins
from seva_crm.core.platform import events, hookspecs
from seva_crm.core.storage.transactions import transaction
from seva_crm.core.platform.channels import OutgoingMessage, Purpose, Recipient, SendResult
from seva_crm.core.common.enums import Role
from seva_crm.core.platform.hookspecs import hookimpl
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.core.platform.plugin_types import DomainEvent, GraphQLContribution, PluginManifest, ScheduledJob
from seva_crm.core.platform.plugins import PluginError, Plugins, parse_selection
from seva_crm.core.platform.tenant_plugins import notification_channels, payment_gateways, privacy_fanouts, tenant_hook
from seva_crm.schema.app import create_app
from seva_crm.schema.build import build_schema
from seva_crm.schema.permissions import needs
from tests.conftest import Api
from tests.test_customers import create

HOOKS = sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("seva_"))
DOCS = Path(__file__).parents[1] / "docs" / "plugins.md"


# --- a plugin that implements every hook -----------------------------------------------------

class EverythingSettings(BaseModel):
    greeting: str = "hello"
    api_token: SecretStr


@strawberry.type
class EverythingQuery:
    @strawberry.field(permission_classes=needs(Role.VIEWER))
    async def everything_greeting(self, info: Info) -> str:
        config = await _config(info.context.tenant.id)
        return f"{config.greeting} from everything" if config else "not configured"


async def _config(tenant_id: UUID):
    from seva_crm.core.platform.tenant_plugins import plugin_config

    return await plugin_config(tenant_id, "everything")


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
        self.sent: list[tuple[OutgoingMessage, object]] = []

    def can_reach(self, recipient: Recipient) -> bool:
        return recipient.phone is not None

    async def send(self, message: OutgoingMessage, settings) -> SendResult:
        self.sent.append((message, settings))
        return SendResult(provider_id=f"ev-{len(self.sent)}")


class Gateway:
    name = "everything-pay"


class Policy:
    def __init__(self, region: str) -> None:
        self.region = region


class Fanout:
    def __init__(self) -> None:
        self.calls: list[tuple[str, UUID, UUID]] = []

    async def export(self, tenant_id: UUID, customer_id: UUID) -> dict:
        self.calls.append(("export", tenant_id, customer_id))
        return {"everything": {"notes": []}}

    async def erase(self, tenant_id: UUID, customer_id: UUID) -> dict:
        self.calls.append(("erase", tenant_id, customer_id))
        return {"erased": ["notes"], "kept": []}


class Everything:
    def __init__(self, plugin_id: str = "everything") -> None:
        self.id = plugin_id
        self.events: list[DomainEvent] = []
        self.channel, self.fanout = Channel(), Fanout()
        self.broker = None

    @hookimpl
    def seva_manifest(self) -> PluginManifest:
        return PluginManifest(id=self.id, name="Everything", version="1.2.3", description="Implements every hook",
                              settings_model=EverythingSettings)

    @hookimpl
    def seva_notification_channels(self):
        return [self.channel]

    @hookimpl
    def seva_payment_gateways(self):
        return [Gateway()]

    @hookimpl
    def seva_region_policies(self):
        return [Policy("IN"), Policy("BD")]

    @hookimpl
    def seva_graphql(self):
        return GraphQLContribution(query=EverythingQuery, mutation=EverythingMutation)

    @hookimpl
    def seva_webhook_routes(self):
        return [Route("/ping", ping, methods=["POST"])]

    @hookimpl
    def seva_actors(self, broker) -> None:
        self.broker = broker
        dramatiq.actor(lambda: None, actor_name="everything_tick", broker=broker)

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
def everything(monkeypatch):
    """The Everything plugin loaded as the process's plugins, and an app built with them."""
    plugin = Everything()
    plugins = Plugins(discover=False, extra=(plugin,))
    monkeypatch.setattr(seva_crm.core.platform.plugins, "_plugins", plugins)  # services (events) use the process's plugins
    plugin.plugins, plugin.app = plugins, create_app(manage_db=False, plugins=plugins)
    return plugin


def api_on(app, tenant) -> Api:
    """The tenant owner's client, on another app."""
    return Api(app, tenant.api.http.headers["authorization"].removeprefix("Bearer "))


async def enable(tenant, plugin: Everything, **settings) -> None:
    await update_plugin_settings(tenant.id, plugin.id, enabled=True, settings={"apiToken": "t0ken", **settings},
                                 plugins=plugin.plugins)


# --- the contract itself ---------------------------------------------------------------------

def test_every_hookspec_has_a_docstring_and_is_in_the_docs():
    docs = DOCS.read_text()
    for name in HOOKS:
        spec = getattr(hookspecs, name)
        assert spec.__doc__ and len(spec.__doc__.strip()) > 40, f"{name} needs a docstring"
        for part in ("Arguments", "Returns", "When"):
            assert part in spec.__doc__, f"{name}'s docstring should say {part}"
        assert f"### `{name}`" in docs, f"{name} is not documented in docs/plugins.md"


def test_every_hookspec_has_a_test():
    tests = {name for name in dir(sys.modules[__name__]) if name.startswith("test_hook_")}
    assert tests == {f"test_hook_{name}" for name in HOOKS}


def test_the_everything_plugin_implements_every_hook(everything):
    assert everything.plugins.loaded["everything"].hooks == HOOKS


# --- one test per hook, through the code that calls it -------------------------------------

async def test_hook_seva_manifest(everything, tenant):
    await enable(tenant, everything)
    data = await api_on(everything.app, tenant).ok("{ plugins { id name version description hooks source enabledForTenant "
                                                   "settings { name secret isSet required value } } }")
    assert data["plugins"] == [{
        "id": "everything", "name": "Everything", "version": "1.2.3", "description": "Implements every hook",
        "hooks": HOOKS, "source": "registered in code", "enabledForTenant": True,
        "settings": [{"name": "greeting", "secret": False, "isSet": False, "required": False, "value": "hello"},
                     {"name": "apiToken", "secret": True, "isSet": True, "required": True, "value": None}],
    }]


async def test_hook_seva_graphql(everything, tenant):
    api = api_on(everything.app, tenant)
    assert (await api.ok("{ everythingGreeting }"))["everythingGreeting"] == "not configured"
    await enable(tenant, everything, greeting="namaste")
    assert (await api.ok("{ everythingGreeting }"))["everythingGreeting"] == "namaste from everything"
    assert (await api.ok('mutation { everythingEcho(text: "hi") }'))["everythingEcho"] == "hi"
    assert "everythingGreeting" in build_schema(everything.plugins).as_str()
    assert "everythingGreeting" not in build_schema(Plugins()).as_str()  # the installed plugins add nothing


async def test_hook_seva_webhook_routes(everything):
    response = await Api(everything.app).http.post("/webhooks/everything/ping", content=b"raw body")
    assert response.status_code == 200
    assert response.json() == {"plugin": "everything", "body": "raw body"}
    assert (await Api(everything.app).http.post("/webhooks/other/ping")).status_code == 404


async def test_hook_seva_notification_channels(everything, make_tenant):
    on, off = await make_tenant(), await make_tenant()
    await enable(on, everything)
    assert await notification_channels(off.id) == {}
    offer = (await notification_channels(on.id))["everything"]
    assert offer.plugin_id == "everything" and offer.adapter is everything.channel
    message = OutgoingMessage(id=UUID(int=1), tenant_id=on.id, channel="everything", purpose=Purpose.SERVICE,
                              template="ready", body="Your certificate is ready", variables={},
                              recipient=Recipient(None, "Asha", "+919876543210", None, "hi"), idempotency_key="k1")
    assert offer.adapter.can_reach(message.recipient)
    from seva_crm.core.platform.tenant_plugins import plugin_config

    settings = await plugin_config(on.id, "everything")
    assert (await offer.adapter.send(message, settings)).provider_id == "ev-1"
    assert everything.channel.sent[0][1].api_token.get_secret_value() == "t0ken"


async def test_hook_seva_payment_gateways(everything, make_tenant):
    on, off = await make_tenant(), await make_tenant()
    await enable(on, everything)
    assert [(o.plugin_id, o.adapter.name) for o in await payment_gateways(on.id)] == [("everything", "everything-pay")]
    assert await payment_gateways(off.id) == []


def test_hook_seva_region_policies(everything):
    from seva_crm.core.privacy.policy import region_policies

    found = region_policies(everything.plugins)
    assert {region: (pid, policy.region) for region, (pid, policy) in found.items()} == {
        "IN": ("everything", "IN"), "BD": ("everything", "BD")}


def test_hook_seva_actors(everything):
    broker = StubBroker()
    everything.plugins.declare_actors(broker)
    assert everything.broker is broker
    assert "everything_tick" in broker.get_declared_actors()


def test_hook_seva_scheduled_jobs(everything):
    assert everything.plugins.scheduled_jobs() == [ScheduledJob("everything.tick", 60, "everything_tick")]


async def test_hook_seva_privacy_fanout(everything, make_tenant):
    on, off = await make_tenant(), await make_tenant()
    await enable(on, everything)
    assert await privacy_fanouts(off.id) == []
    [offer] = await privacy_fanouts(on.id)
    customer_id = UUID(int=7)
    assert await offer.adapter.export(on.id, customer_id) == {"everything": {"notes": []}}
    assert (await offer.adapter.erase(on.id, customer_id))["erased"] == ["notes"]
    assert everything.fanout.calls == [("export", on.id, customer_id), ("erase", on.id, customer_id)]


async def test_hook_seva_domain_event(everything, make_tenant):
    on, off = await make_tenant(), await make_tenant()
    await enable(on, everything)
    for fixture in (on, off):
        api = api_on(everything.app, fixture)
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
    on, off = await make_tenant(), await make_tenant()
    await enable(on, everything)
    assert (await tenant_hook(on.id, "seva_domain_event")).get_hookimpls()
    assert (await tenant_hook(off.id, "seva_domain_event")).get_hookimpls() == []
    assert await tenant_hook(off.id, "seva_domain_event") is await tenant_hook(off.id, "seva_domain_event")
    await update_plugin_settings(on.id, "everything", enabled=False, plugins=everything.plugins)
    await events.emit(events.new_event("customer.created", on.id, UUID(int=1)))
    assert everything.events == []


async def test_events_wait_for_commit_and_vanish_on_rollback(everything, tenant):
    await enable(tenant, everything)
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
            1 / 0
    assert len(everything.events) == 2

    with pytest.raises(RuntimeError, match="inside in_transaction"):
        async with in_transaction():
            await events.emit(event)


async def test_a_failing_plugin_does_not_undo_the_change(everything, tenant, caplog):
    await enable(tenant, everything)

    def broken(event):
        raise ValueError("boom")

    everything.plugins.pm.hook.seva_domain_event.get_hookimpls()[0].function = broken  # what pluggy calls
    with caplog.at_level(logging.ERROR, "seva.events"):
        data = await create(api_on(everything.app, tenant), name="Still Saved", phone="9876543299")
    assert data["errors"] == [] and data["customer"]["id"]
    assert "plugin everything failed on event customer.created" in caplog.text
