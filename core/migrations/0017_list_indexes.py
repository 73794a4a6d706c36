from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0016_events')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Customer',
            index=Index(fields=['tenant_id', 'updated_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Invoice',
            index=Index(fields=['tenant_id', 'due_on', 'id']),
        ),
        # The email filter is case-insensitive: Tortoise's iexact compares UPPER(CAST(email AS VARCHAR)),
        # which only an index on that same expression serves (SQLite and PostgreSQL alike).
        ops.RunSQL(
            'CREATE INDEX customer_tenant_email_upper ON customer (tenant_id, UPPER(CAST(email AS VARCHAR)))',
            reverse_sql='DROP INDEX customer_tenant_email_upper',
        ),
    ]
