"""The committed migrations are the schema: they apply cleanly (conftest builds the test
database with them) and nothing in the models is missing from them, core's (app ``models``)
and each plugin's own (an app per plugin that declares models)."""

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from seva_crm.core.platform.database import tortoise_config
from seva_crm.core.common.settings import get_settings


async def test_models_have_no_changes_missing_from_migrations():
    apps_config = tortoise_config(get_settings().db_url)["apps"]
    assert {"models", "email", "whatsapp"} <= set(apps_config)
    assert apps_config["email"]["migrations"] == "seva_crm.plugins.email.migrations"
    changes = await MigrationAutodetector(Tortoise.apps, apps_config).changes()
    assert not changes, "models changed without a migration: run `tortoise makemigrations`"
