"""Message templates: built-in defaults in three languages, a tenant's own versions, validation,
rendering in the customer's language and the binding the outbox hands each channel."""

from __future__ import annotations

import pytest

from seva_crm.core.messaging import templates
from seva_crm.core.customers.customers import create_customer
from seva_crm.core.common.errors import DomainError
from seva_crm.core.models import Message

UPSERT = """mutation($input: MessageTemplateInput!) { messageTemplateUpsert(input: $input) {
  template { key purpose builtIn variables texts { language text } bindings { channel language binding } }
  errors { field code message } } }"""
LIST = "{ messageTemplates { key purpose builtIn variables texts { language } } }"
SEND = """mutation($id: ID!, $t: String!, $v: JSON) { messageSend(customer: $id, template: $t, variables: $v) {
  message { id body } errors { field code } } }"""

RENEWAL = {
    "key": "renewal_due", "purpose": "SERVICE",
    "texts": [{"language": "en", "text": "Dear {name}, renew {service} by {due_date}."},
              {"language": "hi", "text": "प्रिय {name}, {due_date} तक {service} का नवीनीकरण करें।"}],
    "bindings": [
        {"channel": "whatsapp", "language": "hi",
         "binding": {"name": "renew_hi", "language": "hi", "parameters": ["name", "due_date", "service"]}},
        {"channel": "sms", "language": "en", "binding": {"dlt_template_id": "1107161234567890123",
                                                          "text": "Dear {#var#}, renew {#var#} by {#var#}.",
                                                          "variables": ["name", "service", "due_date"]}},
    ],
}


def test_builtins_cover_the_common_keys_in_three_languages():
    for key in ("renewal_due", "document_ready", "otp", "payment_received", "invoice_due", "invoice_overdue"):
        t = templates.builtin(key)
        assert set(t.texts) == {"en", "hi", "bn"}, key
        for lang, text in t.texts.items():
            assert set(templates.variables_of(text)) == set(t.variables), (key, lang)
            # the WhatsApp plugin's default binding (its adapter's default_binding)
            assert t.binding("whatsapp", lang) == {"name": f"seva_{key}", "language": lang,
                                                   "parameters": templates.variables_of(text)}
            assert t.binding("sms", lang) == {}  # SMS gives none: DLT needs the tenant's own registration
    assert "नमस्ते" in templates.BUILTIN["renewal_due"].texts["hi"]
    assert "নমস্কার" in templates.BUILTIN["renewal_due"].texts["bn"]


def test_render_in_a_language_and_missing_variables_are_typed():
    t = templates.BUILTIN["document_ready"]
    assert templates.render(t, {"name": "Asha", "service": "PAN", "centre": "CSC"}, "bn").startswith("নমস্কার Asha")
    assert templates.render(t, {"name": "Asha", "service": "PAN", "centre": "CSC"}, "fr").startswith("Hello Asha")
    with pytest.raises(DomainError) as exc:
        templates.render(t, {"name": "Asha"}, "hi")
    assert {(e.field, e.code.value) for e in exc.value.errors} == {("variables.service", "missing_variable"),
                                                                    ("variables.centre", "missing_variable")}


def test_format_tricks_are_refused():
    with pytest.raises(DomainError) as exc:
        templates.check_template("x_y", "service", {"en": "Hi {name.__class__} {0} {a!r}"}, {})
    assert [e.field for e in exc.value.errors] == ["texts.en"]


async def test_a_tenant_overrides_a_template_and_the_outbox_uses_it(tenant):
    result = (await tenant.api.ok(UPSERT, input=RENEWAL))["messageTemplateUpsert"]
    assert result["errors"] == []
    assert result["template"]["builtIn"] is False and result["template"]["variables"] == ["name", "service", "due_date"]
    listed = {t["key"]: t for t in (await tenant.api.ok(LIST))["messageTemplates"]}
    assert listed["renewal_due"]["builtIn"] is False and listed["otp"]["builtIn"] is True

    assert await templates.binding_for(tenant.id, "renewal_due", "whatsapp", "hi") == {
        "name": "renew_hi", "language": "hi", "parameters": ["name", "due_date", "service"]}
    assert (await templates.binding_for(tenant.id, "renewal_due", "sms", "hi"))["dlt_template_id"] == "1107161234567890123"
    assert await templates.binding_for(tenant.id, "renewal_due", "email", "en") == {}
    assert await templates.binding_for(tenant.id, "no_such", "whatsapp", "en") == {}
    # another tenant still has the built-in
    assert (await templates.binding_for(tenant.id, "otp", "whatsapp", "bn"))["name"] == "seva_otp"

    who = await create_customer(tenant.scope, {"name": "Ravi", "phone": "98765 40000", "language": "hi"})
    from seva_crm.core.common.ids import to_global_id
    sent = (await tenant.api.ok(SEND, id=to_global_id("Customer", who.id), t="renewal_due",
                                v={"service": "PAN", "due_date": "1 May"}))["messageSend"]
    assert sent["errors"] == [] and sent["message"]["body"] == "प्रिय Ravi, 1 May तक PAN का नवीनीकरण करें।"
    missing = (await tenant.api.ok(SEND, id=to_global_id("Customer", who.id), t="renewal_due", v={"service": "PAN"}))["messageSend"]
    assert missing["errors"] == [{"field": "variables.due_date", "code": "MISSING_VARIABLE"}]
    assert await Message.filter(tenant_id=tenant.id).count() == 1


async def test_upsert_validation_names_every_problem(tenant):
    bad = {"key": "Bad Key", "purpose": "SERVICE",
           "texts": [{"language": "hi", "text": "नमस्ते {name} {extra}"}, {"language": "xx", "text": "hi"}],
           "bindings": [{"channel": "whatsapp", "language": "en",
                         "binding": {"name": "Bad-Name", "language": "english", "parameters": ["nope"]}},
                        {"channel": "sms", "language": "en", "binding": {"dlt_template_id": "abc", "text": "Hi {#var#}", "variables": []}}]}
    result = (await tenant.api.ok(UPSERT, input=bad))["messageTemplateUpsert"]
    assert result["template"] is None
    fields = {e["field"] for e in result["errors"]}
    assert {"key", "texts.en", "texts.xx", "bindings.whatsapp.en.name", "bindings.whatsapp.en.language",
            "bindings.whatsapp.en.parameters", "bindings.sms.en.dlt_template_id", "bindings.sms.en.variables"} <= fields



async def test_viewers_read_templates_and_only_admins_change_them(tenant):
    from seva_crm.core.common.enums import Role
    viewer = await tenant.api_as(Role.VIEWER)
    assert len((await viewer.ok(LIST))["messageTemplates"]) >= 7
    agent = await tenant.api_as(Role.AGENT)
    refused = await agent(UPSERT, input=RENEWAL)
    assert refused["errors"] and refused["data"] is None


async def test_bindings_name_loaded_channels_and_their_adapters_check_them(tenant):
    """A partner channel's adapter checks its own bindings (``validate_binding``) and gives the
    built-ins theirs (``default_binding``); a binding for a channel no plugin provides is refused."""
    from seva_crm.core.platform.plugins import Plugins, set_plugins
    from tests.channel_plugin import ChannelPlugin, NullChannel

    class Gateway(NullChannel):
        kind = "sms"

        def validate_binding(self, binding, variables):
            return [] if binding.get("sender_id") else [("sender_id", "the gateway's approved sender id")]

        def default_binding(self, template_key, language, text, variables):
            return {"sender_id": "SEVA", "template": f"{template_key}-{language}"}

    set_plugins(Plugins(extra=(ChannelPlugin([Gateway("acme-sms")], plugin_id="acme"),)))  # with the built-in plugins
    try:
        bad = {**RENEWAL, "bindings": [{"channel": "acme-sms", "language": "en", "binding": {}},
                                       {"channel": "pigeon", "language": "en", "binding": {}}]}
        result = (await tenant.api.ok(UPSERT, input=bad))["messageTemplateUpsert"]
        assert {(e["field"], e["message"]) for e in result["errors"]} == {
            ("bindings.acme-sms.en.sender_id", "the gateway's approved sender id"),
            ("bindings.pigeon", "unknown channel 'pigeon'; available channels: email, sms, whatsapp, acme-sms")}
        good = {**RENEWAL, "bindings": [{"channel": "acme-sms", "language": "en", "binding": {"sender_id": "CENTRE"}}]}
        assert (await tenant.api.ok(UPSERT, input=good))["messageTemplateUpsert"]["errors"] == []
        assert await templates.binding_for(tenant.id, "renewal_due", "acme-sms", "hi") == {"sender_id": "CENTRE"}
        assert await templates.binding_for(tenant.id, "otp", "acme-sms", "bn") == {"sender_id": "SEVA", "template": "otp-bn"}
    finally:
        set_plugins(None)
