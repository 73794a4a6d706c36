"""Region rules enforced, not just stored: every built-in plugin says where its provider processes
data, and enabling one is refused where the tenant's rules forbid that transfer (with the reason
and the law); region settings the law does not allow are refused with a clear error."""

from types import SimpleNamespace

from seva_crm.core.common.enums import Region
from seva_crm.core.platform.plugins import get_plugins
from tests.test_plugin_settings import WHATSAPP, update

MSG91 = {"gateway": "msg91", "apiToken": "authkey-1", "sender": "SEVAIN", "entityId": "1201159100000000000"}
SSL = {"gateway": "sslwireless", "apiToken": "ssl-token-1", "sender": "SEVASID"}


def test_every_built_in_plugin_declares_where_it_processes_data():
    loaded = get_plugins().loaded
    countries = {pid: loaded[pid].manifest.countries for pid in ("whatsapp", "razorpay", "sms", "email")}
    assert countries["whatsapp"](None) == ("US",) and countries["razorpay"](None) == ("IN",)
    assert countries["sms"](SimpleNamespace(gateway="msg91")) == ("IN",)
    assert countries["sms"](SimpleNamespace(gateway="sslwireless")) == ("BD",)
    assert countries["email"](None) == ()  # the instance's own server, unless the operator says otherwise


async def test_bangladesh_refuses_a_provider_abroad_until_the_transfer_is_authorised(make_tenant):
    bd = await make_tenant(Region.BD)
    refused = await update(bd.api, "whatsapp", enabled=True, settings=WHATSAPP)
    assert refused["plugin"] is None
    [error] = refused["errors"]
    assert error["code"] == "TRANSFER_NOT_ALLOWED" and error["field"] == "enabled"
    assert "processes personal data in US" in error["message"] and "Feb 2026" in error["message"]
    assert "authorised_transfer_countries" in error["message"]
    assert [e["code"] for e in (await update(bd.api, "sms", enabled=True, settings=MSG91))["errors"]] == ["TRANSFER_NOT_ALLOWED"]
    assert (await update(bd.api, "sms", enabled=True, settings=SSL))["errors"] == []  # processed in Bangladesh

    assert (await update(bd.api, "bangladesh", settings={"authorisedTransferCountries": ["US"]}))["errors"] == []
    assert (await update(bd.api, "whatsapp", enabled=True, settings=WHATSAPP))["plugin"]["enabledForTenant"] is True


async def test_india_refuses_only_restricted_countries(make_tenant):
    india = await make_tenant(Region.IN)
    assert (await update(india.api, "whatsapp", enabled=True, settings=WHATSAPP))["errors"] == []
    other = await make_tenant(Region.IN)
    assert (await update(other.api, "dpdp", settings={"restrictedCountries": ["US"]}))["errors"] == []
    [error] = (await update(other.api, "whatsapp", enabled=True, settings=WHATSAPP))["errors"]
    assert error["code"] == "TRANSFER_NOT_ALLOWED" and "s.16" in error["message"]


async def test_bangladesh_settings_have_legal_bounds(make_tenant):
    bd = await make_tenant(Region.BD)
    result = await update(bd.api, "bangladesh", settings={"breachHours": 720, "minimumLogRetentionDays": 0})
    errors = {e["field"]: e for e in result["errors"]}
    assert set(errors) == {"settings.breachHours", "settings.minimumLogRetentionDays"}
    assert "72" in errors["settings.breachHours"]["message"] and "365" in errors["settings.minimumLogRetentionDays"]["message"]
    assert (await update(bd.api, "bangladesh", settings={"breachHours": 48}))["errors"] == []  # stricter is fine
