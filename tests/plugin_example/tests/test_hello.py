"""The plugin's own tests: load it as Seva would, build the app, call what it adds."""

import asyncio

import httpx
from pydantic import SecretStr

import seva_plugin_hello
from seva_crm.core.platform.channels import OutgoingMessage, Purpose, Recipient
from seva_crm.core.platform.plugins import Plugins
from seva_crm.schema.app import create_app


def test_loads_with_its_hooks():
    plugins = Plugins(discover=False, extra=(seva_plugin_hello,))
    assert plugins.loaded["hello"].hooks == [
        "seva_graphql", "seva_manifest", "seva_notification_channels", "seva_webhook_routes"]


def test_webhook_answers():
    app = create_app(manage_db=False, plugins=Plugins(discover=False, extra=(seva_plugin_hello,)))

    async def post():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/webhooks/hello/delivery", json={"id": "r1"})

    response = asyncio.run(post())
    assert response.status_code == 200 and response.json() == {"received": "r1"}


def test_channel_sends_with_the_tenant_settings():
    message = OutgoingMessage(id=None, tenant_id=None, channel="hello", purpose=Purpose.SERVICE, template="t",
                              body="your PAN card is ready", variables={}, idempotency_key="k",
                              recipient=Recipient(None, "Asha", "+919876543210", None, "en"))
    settings = seva_plugin_hello.HelloSettings(greeting="Namaste", api_key=SecretStr("k"))
    result = asyncio.run(seva_plugin_hello.HelloChannel().send(message, settings))
    assert result.provider_id == "hello-1"
