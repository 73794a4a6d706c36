"""The hook implementations: the ``seva`` entry point names this module."""

from seva_crm.plugin_api import PluginManifest, hookimpl
from seva_plugin_hello.settings import HelloInstanceSettings, HelloSettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(id="hello", name="Hello SMS", version="0.1.0",
                          description="Text messages through the Hello SMS gateway.",
                          settings_model=HelloSettings, instance_settings=HelloInstanceSettings)


@hookimpl
def seva_notification_channels() -> list:
    from seva_plugin_hello.adapter import channel

    return [channel]


@hookimpl
def seva_webhook_routes() -> list:
    from seva_plugin_hello.webhooks import routes

    return routes()
