"""A request or a job looks up its tenant's plugin settings and privacy policy once, however many
services ask (core.platform.context); a change made in the request is seen at once."""

import logging

from seva_crm.core.messaging.channel_registry import channels_for_tenant
from seva_crm.core.platform.context import tenant_context
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.core.platform.tenant_plugins import enabled_plugins, plugin_config
from seva_crm.core.privacy.policy import tenant_policy


class PluginSettingsQueries(logging.Handler):
    """Counts the SQL statements Tortoise sends that read the plugin_settings table."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if "plugin_settings" in text and text.lstrip().upper().startswith("SELECT"):
            self.count += 1

    def __enter__(self):
        self.logger = logging.getLogger("tortoise.db_client")
        self.level = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level)


async def test_a_job_reads_the_tenants_plugin_settings_once(tenant):
    """Choosing a message's channel asks which plugins the tenant enabled and each one's settings:
    one read in a job's (or request's) scope, a read per question outside one."""
    for plugin in ("email", "sms"):
        await update_plugin_settings(tenant.id, plugin, enabled=True,
                                     settings={"gateway": "msg91", "apiToken": "k", "entityId": "1101234567890123456",
                                               "sender": "SEVACR"} if plugin == "sms" else None)
    with PluginSettingsQueries() as unscoped:
        channels = await channels_for_tenant(tenant.id)
    with tenant_context(), PluginSettingsQueries() as scoped:
        assert await channels_for_tenant(tenant.id) == channels
        await channels_for_tenant(tenant.id)
    assert "sms" in channels  # (email: enabled, but no SMTP server here to send through)
    assert (scoped.count, unscoped.count) == (1, 3)


async def test_lookups_are_kept_within_a_scope_and_forgotten_after_a_change(tenant):
    with tenant_context():
        with PluginSettingsQueries() as reads:
            first = await enabled_plugins(tenant.id)
            await plugin_config(tenant.id, "email")
            policy = await tenant_policy(tenant.id)
            assert await tenant_policy(tenant.id) is policy
            assert await enabled_plugins(tenant.id) == first
        assert reads.count == 1
        assert "email" not in first
        await update_plugin_settings(tenant.id, "email", enabled=True)
        assert "email" in await enabled_plugins(tenant.id)  # the change is seen in the same request
    with PluginSettingsQueries() as reads:  # outside a scope, each lookup reads afresh
        await enabled_plugins(tenant.id)
        await enabled_plugins(tenant.id)
    assert reads.count == 2
