from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

from seva_crm.core.customers.name_key import name_key
from seva_crm.core.storage.migration_ops import AddColumnWithDefault


async def trigram_index(apps, schema_editor) -> None:
    """PostgreSQL: pg_trgm and a GIN trigram index on the search key (SQLite searches without one)."""
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        await client.execute_script(
            "CREATE INDEX IF NOT EXISTS customer_name_key_trgm ON customer USING gin (name_key gin_trgm_ops)")


async def drop_trigram_index(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script("DROP INDEX IF EXISTS customer_name_key_trgm")


async def backfill_name_keys(apps, schema_editor) -> None:
    client = schema_editor.client
    mark = "$1" if client.capabilities.dialect == "postgres" else "?"
    other = "$2" if client.capabilities.dialect == "postgres" else "?"
    _, rows = await client.execute_query("SELECT id, name FROM customer")
    for row in rows:
        await client.execute_query(f"UPDATE customer SET name_key = {mark} WHERE id = {other}", [name_key(row["name"]), row["id"]])


class Migration(migrations.Migration):
    dependencies = [('models', '0019_privacy_subject')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Customer',
            name='household_contact',
            field=fields.ForeignKeyField('models.Customer', source_field='household_contact_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
        AddColumnWithDefault(
            model_name='Customer',
            name='name_key',
            field=fields.CharField(default='', max_length=255),
            column_sql="VARCHAR(255) NOT NULL DEFAULT ''",  # existing rows: '' until the backfill below
        ),
        ops.RunPython(backfill_name_keys, ops.RunPython.noop),
        ops.RunPython(trigram_index, drop_trigram_index),
    ]
