from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

# PostgreSQL: trigram indexes on the very expressions ``filter.search`` compares (Tortoise's
# icontains is UPPER(CAST(col AS VARCHAR)) LIKE UPPER('%...%'), contains is CAST(col AS VARCHAR)
# LIKE '%...%'), so a substring of a name, an email or a phone number is found from the index
# however many customers the tenant has. SQLite has no such index and scans its (small) lists.
TRIGRAM_INDEXES = {
    "customer_name_upper_trgm": "UPPER(CAST(name AS VARCHAR))",
    "customer_email_upper_trgm": "UPPER(CAST(email AS VARCHAR))",
    "customer_phone_trgm": "CAST(phone AS VARCHAR)",
}


async def trigram_indexes(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, expression in TRIGRAM_INDEXES.items():
            await client.execute_script(f"CREATE INDEX IF NOT EXISTS {name} ON customer USING gin (({expression}) gin_trgm_ops)")


async def drop_trigram_indexes(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        for name in TRIGRAM_INDEXES:
            await client.execute_script(f"DROP INDEX IF EXISTS {name}")


BACKFILL = ("UPDATE customer_tag SET customer_created_at = "
            "(SELECT created_at FROM customer WHERE customer.id = customer_tag.customer_id)")


class Migration(migrations.Migration):
    dependencies = [('models', '0025_crm')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Customer',
            index=Index(fields=['tenant_id', 'household_contact_id']),
        ),
        ops.RemoveIndex(
            model_name='CustomerTag',
            name=None,
            fields=['tenant_id', 'tag'],
        ),
        ops.AddField(
            model_name='CustomerTag',
            name='customer_created_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunSQL(BACKFILL, reverse_sql="SELECT 1"),
        ops.AddIndex(
            model_name='CustomerTag',
            index=Index(fields=['tenant_id', 'tag', 'customer_created_at', 'customer_id']),
        ),
        ops.AddIndex(
            model_name='Invoice',
            index=Index(fields=['tenant_id', 'status', 'created_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Message',
            index=Index(fields=['tenant_id', 'status', 'created_at', 'id']),
        ),
        ops.RemoveIndex(
            model_name='Payment',
            name=None,
            fields=['tenant_id', 'received_at'],
        ),
        ops.AddIndex(
            model_name='Payment',
            index=Index(fields=['tenant_id', 'received_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Payment',
            index=Index(fields=['tenant_id', 'customer_id', 'received_at']),
        ),
        ops.RemoveIndex(
            model_name='ServiceRecord',
            name=None,
            fields=['tenant_id', 'status'],
        ),
        ops.AddIndex(
            model_name='ServiceRecord',
            index=Index(fields=['tenant_id', 'status', 'created_at', 'id']),
        ),
        ops.RunPython(trigram_indexes, drop_trigram_indexes),
    ]
