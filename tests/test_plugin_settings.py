"""Per-tenant plugin settings through the API: validation with camelCase field errors, secrets
encrypted at rest and never shown (only whether they are set), kept when left out, rotation
under a new SEVA_SECRET_KEY."""

from __future__ import annotations

import logging

import pytest

from seva_crm.core.common import crypto
from seva_crm.core.common.enums import Role
from seva_crm.core.common.errors import DomainError
from seva_crm.core.models import PluginSettings
from seva_crm.core.platform.plugin_settings import _context, rotate_secrets, update_plugin_settings
from seva_crm.core.platform.tenant_plugins import enabled_plugins, plugin_config

UPDATE = """mutation($plugin: String!, $enabled: Boolean, $settings: JSON) {
  pluginSettingsUpdate(plugin: $plugin, enabled: $enabled, settings: $settings) {
    plugin { id enabledForTenant settings { name secret isSet required value } }
    errors { field code message }
  }
}"""
WHATSAPP = {"phoneNumberId": "106540352242922", "accessToken": "EAAG-very-secret", "appSecret": "app-secret-1",
            "verifyToken": "verify-me"}
OLD_KEY = "the-old-secret-key-0123456789-abcdefghijklmnop"


async def update(api, plugin: str, **variables) -> dict:
    return (await api.ok(UPDATE, plugin=plugin, **variables))["pluginSettingsUpdate"]


def settings_of(result: dict) -> dict:
    return {s["name"]: s for s in result["plugin"]["settings"]}


async def test_saving_encrypts_secrets_and_shows_only_whether_they_are_set(tenant, caplog):
    with caplog.at_level(logging.DEBUG):
        result = await update(tenant.api, "whatsapp", enabled=True, settings=WHATSAPP)
    assert result["errors"] == []
    shown = settings_of(result)
    assert shown["accessToken"] == {"name": "accessToken", "secret": True, "isSet": True, "required": True, "value": None}
    assert shown["phoneNumberId"]["value"] == "106540352242922"
    assert shown["apiVersion"] == {"name": "apiVersion", "secret": False, "isSet": False, "required": False, "value": "v21.0"}
    assert result["plugin"]["enabledForTenant"] is True

    listed = await tenant.api.ok("{ plugins { id settings { name value } } }")
    for text in (str(result), str(listed), caplog.text):
        assert "EAAG-very-secret" not in text and "app-secret-1" not in text

    row = await PluginSettings.get(tenant_id=tenant.id, plugin_id="whatsapp")
    assert set(row.secrets) == {"access_token", "app_secret"} and "access_token" not in row.values
    assert row.secrets["access_token"].startswith(f"v1:{crypto.current_key_id()}:")
    assert "EAAG" not in str(row.secrets)
    config = await plugin_config(tenant.id, "whatsapp")
    assert config.access_token.get_secret_value() == "EAAG-very-secret" and config.api_version == "v21.0"
    assert "whatsapp" in await enabled_plugins(tenant.id)


async def test_a_secret_left_out_keeps_the_stored_one_and_empty_clears_it(tenant):
    await update(tenant.api, "whatsapp", enabled=True, settings=WHATSAPP)
    result = await update(tenant.api, "whatsapp", settings={"phoneNumberId": "222", "accessToken": None})
    assert result["errors"] == []
    config = await plugin_config(tenant.id, "whatsapp")
    assert config.phone_number_id == "222" and config.access_token.get_secret_value() == "EAAG-very-secret"

    result = await update(tenant.api, "whatsapp", settings={"appSecret": ""})
    assert result["errors"] == [{"field": "settings.appSecret", "code": "REQUIRED", "message": "is required"}]
    assert (await plugin_config(tenant.id, "whatsapp")).app_secret.get_secret_value() == "app-secret-1"


@pytest.mark.parametrize("plugin, settings, errors", [
    ("whatsapp", {"phoneNumberId": "1"}, {"settings.accessToken": "REQUIRED", "settings.appSecret": "REQUIRED",
                                          "settings.verifyToken": "REQUIRED"}),
    ("whatsapp", {**WHATSAPP, "apiVersion": "21", "colour": "red"}, {"settings.colour": "INVALID"}),
    ("whatsapp", {**WHATSAPP, "apiVersion": "21"}, {"settings.apiVersion": "INVALID"}),
    ("razorpay", {"keyId": "nope", "keySecret": "s", "webhookSecret": "w"}, {"settings.keyId": "INVALID"}),
    ("sms", {"gateway": "msg91", "apiToken": "t", "sender": "SEVAIN"}, {"settings.entityId": "INVALID"}),
    ("sms", {"gateway": "twilio", "apiToken": "t", "sender": "X"}, {"settings.gateway": "INVALID"}),
    ("email", {"host": "smtp.example.com", "fromAddress": "not-an-address"}, {"settings.fromAddress": "INVALID"}),
    ("email", {"host": "smtp.example.com", "port": 70000, "fromAddress": "a@example.com"}, {"settings.port": "INVALID"}),
    ("email", {"host": "smtp.example.com"}, {"settings": "INVALID"}),  # a host needs a from address
    ("email", {"host": "smtp.example.com", "fromAddress": "a@example.com", "security": "ssl"}, {"settings.security": "INVALID"}),
])
async def test_invalid_settings_name_each_field_as_the_api_shows_it(tenant, plugin, settings, errors):
    result = await update(tenant.api, plugin, enabled=True, settings=settings)
    assert {e["field"]: e["code"] for e in result["errors"]} == errors
    assert result["plugin"] is None
    assert not await PluginSettings.exists(tenant_id=tenant.id, plugin_id=plugin)


async def test_valid_settings_of_each_built_in_plugin_are_accepted(tenant):
    for plugin, settings in [
        ("razorpay", {"keyId": "rzp_test_abc123", "keySecret": "s", "webhookSecret": "w"}),
        ("sms", {"gateway": "msg91", "apiToken": "t", "sender": "SEVAIN", "entityId": "1201159100000000000"}),
        ("sms", {"gateway": "sslwireless", "apiToken": "t", "sender": "SEVABD"}),
        ("email", {"host": "smtp.example.com", "port": 465, "security": "tls", "username": "u",
                   "password": "p", "fromName": "Seva", "fromAddress": "desk@example.com"}),
    ]:
        result = await update(tenant.api, plugin, enabled=True, settings=settings)
        assert result["errors"] == [], (plugin, result)
    assert {"razorpay", "sms", "email"} <= set(await enabled_plugins(tenant.id))
    assert (await plugin_config(tenant.id, "sms")).url.startswith("https://smsplus.sslwireless.com")


@pytest.mark.parametrize("plugin", ["whatsapp", "razorpay", "sms"])
async def test_a_tenant_cannot_choose_where_the_server_sends_its_credentials(tenant, plugin):
    """A provider's address is the operator's (SEVA_<PLUGIN>_BASE_URL): a tenant admin who
    names one, such as the cloud metadata service, is refused and nothing is stored."""
    complete = {"whatsapp": WHATSAPP, "razorpay": {"keyId": "rzp_test_abc123", "keySecret": "s", "webhookSecret": "w"},
                "sms": {"gateway": "msg91", "apiToken": "t", "sender": "SEVAIN", "entityId": "1201159100000000000"}}[plugin]
    result = await update(tenant.api, plugin, settings={**complete, "baseUrl": "http://169.254.169.254/latest"})
    assert result["errors"] == [{"field": "settings.baseUrl", "code": "INVALID", "message": "is not a setting of this plugin"}]
    assert not await PluginSettings.exists(tenant_id=tenant.id, plugin_id=plugin)
    assert "baseUrl" not in settings_of(await update(tenant.api, plugin, settings=complete))


def test_instance_settings_are_read_at_load_and_a_bad_value_names_its_variable(monkeypatch):
    import seva_crm.plugins.sms.hooks as sms_plugin
    import seva_crm.plugins.whatsapp.hooks as whatsapp_plugin
    from seva_crm.core.common.settings import ConfigError, get_settings
    from seva_crm.core.platform.plugins import Plugins

    monkeypatch.setenv("SEVA_WHATSAPP_BASE_URL", "http://127.0.0.1:9/")
    plugins = Plugins(discover=False, extra=(whatsapp_plugin, sms_plugin))
    assert plugins.instance_settings("whatsapp").base_url == "http://127.0.0.1:9"  # development: a local fake may be http
    assert plugins.instance_settings("sms").msg91_base_url == "https://control.msg91.com"  # the default
    monkeypatch.setenv("SEVA_SMS_MSG91_BASE_URL", "control.msg91.com")
    with pytest.raises(ConfigError, match="^SEVA_SMS_MSG91_BASE_URL: must start with https://"):
        Plugins(discover=False, extra=(sms_plugin,))
    monkeypatch.delenv("SEVA_SMS_MSG91_BASE_URL")
    monkeypatch.setattr(get_settings(), "env", "production")
    with pytest.raises(ConfigError, match="^SEVA_WHATSAPP_BASE_URL: must start with https:// when SEVA_ENV=production$"):
        Plugins(discover=False, extra=(whatsapp_plugin,))


async def test_enabling_needs_complete_settings_and_disabling_does_not(tenant):
    result = await update(tenant.api, "razorpay", enabled=True)
    assert {e["field"] for e in result["errors"]} == {"settings.keyId", "settings.keySecret", "settings.webhookSecret"}
    result = await update(tenant.api, "razorpay", enabled=False)
    assert result["errors"] == [] and result["plugin"]["enabledForTenant"] is False
    assert "razorpay" not in await enabled_plugins(tenant.id)


async def test_unknown_plugin_and_roles(tenant):
    result = await update(tenant.api, "nosuch", enabled=True)
    assert result["errors"] == [{"field": "plugin", "code": "NOT_FOUND", "message": "plugin not found"}]
    agent = await tenant.api_as(Role.AGENT)
    for query in ("{ plugins { id } }", 'mutation { pluginSettingsUpdate(plugin: "sms", enabled: false) { errors { code } } }'):
        body = await agent(query)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_ciphertext_decrypts_only_where_it_belongs(make_tenant):
    a, b = await make_tenant(), await make_tenant()
    for t in (a, b):
        await update(t.api, "whatsapp", enabled=True, settings=WHATSAPP)
    row_a = await PluginSettings.get(tenant_id=a.id, plugin_id="whatsapp")
    row_b = await PluginSettings.get(tenant_id=b.id, plugin_id="whatsapp")
    row_b.secrets = row_a.secrets  # copied across tenants
    await row_b.save()
    assert await plugin_config(b.id, "whatsapp") is None  # not usable: bound to tenant A
    with pytest.raises(crypto.CryptoError, match="altered or moved"):
        crypto.decrypt(row_a.secrets["access_token"], _context(b.id, "whatsapp", "access_token"))


async def test_rotation_reencrypts_old_secrets_under_the_current_key(tenant):
    await update(tenant.api, "whatsapp", enabled=True, settings=WHATSAPP)
    row = await PluginSettings.get(tenant_id=tenant.id, plugin_id="whatsapp")
    # as if stored before SEVA_SECRET_KEY changed from OLD_KEY to the current one
    row.secrets = {name: crypto.encrypt(value, _context(tenant.id, "whatsapp", name), secret=OLD_KEY)
                   for name, value in (("access_token", "old-token"), ("app_secret", "old-app-secret"))}
    await row.save()
    assert await plugin_config(tenant.id, "whatsapp") is None  # unreadable under the current key

    with pytest.raises(DomainError, match=f"tenant {tenant.id} plugin whatsapp setting accessToken: encrypted under an unknown key"):
        await rotate_secrets(("wrong-old-key-0123456789-abcdefghijklmnopqrs",))
    assert (await PluginSettings.get(id=row.id)).secrets == row.secrets  # all or nothing

    report = await rotate_secrets((OLD_KEY,))
    assert report.rotated >= 2
    config = await plugin_config(tenant.id, "whatsapp")
    assert config.access_token.get_secret_value() == "old-token"
    assert config.app_secret.get_secret_value() == "old-app-secret"
    again = await rotate_secrets((OLD_KEY,))
    assert again.rotated == 0 and again.current >= 2


async def test_service_refuses_settings_that_are_not_an_object(tenant):
    with pytest.raises(DomainError, match="settings: must be an object"):
        await update_plugin_settings(tenant.id, "sms", settings=["not", "a", "dict"])
