"""The plugin's own tests, as a partner writes them: Seva's testing helpers, and the fake provider."""

from uuid import uuid4

import pytest

from seva_crm.plugin_api import OutgoingMessage, Plugins, Purpose, Recipient, SendError, tenant_global_id
from seva_plugin_hello import hooks
from seva_plugin_hello.adapter import channel
from seva_plugin_hello.fake import FakeHello
from seva_plugin_hello.settings import HelloSettings

pytest_plugins = ["seva_crm.testing.fixtures"]


@pytest.fixture(scope="session")
def provider():
    fake = FakeHello().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def seva_plugins(provider):
    """Seva with this plugin, pointed at the fake as an operator would (SEVA_HELLO_BASE_URL)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SEVA_HELLO_BASE_URL", provider.url)
        return Plugins(discover=False, extra=(hooks,))  # instance settings are read as it loads


def message(phone: str = "+919876543210", key: str = "k-1") -> OutgoingMessage:
    return OutgoingMessage(id=uuid4(), tenant_id=uuid4(), channel="hello", purpose=Purpose.SERVICE, template="t",
                           body="Your PAN card is ready", variables={}, idempotency_key=key,
                           recipient=Recipient(None, "Asha", phone, None, "en"))


def account(provider: FakeHello, api_key: str = "") -> HelloSettings:
    return HelloSettings(api_key=api_key or provider.api_key, webhook_secret=provider.webhook_secret)


def test_loads_with_its_hooks(seva_plugins):
    assert seva_plugins.loaded["hello"].hooks == ["seva_manifest", "seva_notification_channels", "seva_webhook_routes"]


async def test_sends_through_the_provider_once_per_message(app, provider):
    first = await channel.send(message(key="once"), account(provider))
    again = await channel.send(message(key="once"), account(provider))  # a retry after a lost answer
    assert again.provider_id == first.provider_id
    assert [m for m in provider.sent if m["reference"] == "once"] == [
        {"id": first.provider_id, "to": "+919876543210", "text": "Your PAN card is ready", "reference": "once"}]


async def test_the_providers_errors_become_send_errors(app, provider):
    async def refused(msg: OutgoingMessage, settings: HelloSettings) -> SendError:
        with pytest.raises(SendError) as caught:
            await channel.send(msg, settings)
        return caught.value

    bad_key = await refused(message(), account(provider, api_key="not-the-key"))
    assert (bad_key.code, bad_key.retryable) == ("auth", False)
    bad_number = await refused(message(phone="98765"), account(provider))
    assert (bad_number.code, bad_number.retryable, bad_number.fallback) == ("invalid_number", False, True)
    provider.fail_next(429)
    throttled = await refused(message(), account(provider))
    assert (throttled.code, throttled.retryable, throttled.retry_after) == ("rate_limited", True, 30.0)
    provider.fail_next(503)
    down = await refused(message(), account(provider))
    assert (down.code, down.retryable) == ("unavailable", True)


async def test_delivery_reports_need_the_tenants_signature(make_tenant, provider):
    tenant = await make_tenant(plugins={"hello": {"apiKey": provider.api_key, "webhookSecret": provider.webhook_secret}})
    other = await make_tenant()  # has not enabled the plugin
    http = tenant.api.http
    body, headers = provider.report("hm_unknown", "delivered")
    url = f"/webhooks/hello/reports/{tenant_global_id(tenant.id)}"
    answer = await http.post(url, content=body, headers=headers)
    assert answer.status_code == 200 and answer.json() == {"status": "ok", "applied": False}  # no such message
    forged = await http.post(url, content=body, headers={**headers, "x-hello-signature": "sha256=" + "0" * 64})
    assert forged.status_code == 401
    elsewhere = await http.post(f"/webhooks/hello/reports/{tenant_global_id(other.id)}", content=body, headers=headers)
    assert elsewhere.status_code == 404
