from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

from seva_crm.plugin_api import column_exists


async def copy_from_core(apps, schema_editor) -> None:
    """Customers core marked as not on WhatsApp (customer.whatsapp_unreachable_at, dropped by
    core's migration 0010, which runs after this one). Each copied row takes its customer's id
    as its own: unique, and no id generation to write per database."""
    if await column_exists(schema_editor, 'customer', 'whatsapp_unreachable_at'):
        await schema_editor.client.execute_script(
            'INSERT INTO whatsapp_contact (id, created_at, updated_at, tenant_id, customer_id, unreachable_at) '
            'SELECT id, whatsapp_unreachable_at, whatsapp_unreachable_at, tenant_id, id, whatsapp_unreachable_at '
            'FROM customer WHERE whatsapp_unreachable_at IS NOT NULL')


class Migration(migrations.Migration):
    dependencies = [('models', '0009_login_attempts_use_ratelimit')]
    run_before = [('models', '0010_plugins_own_their_data')]

    initial = True

    operations = [
        ops.CreateModel(
            name='WhatsAppContact',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id',
                                                  related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id',
                                                    related_name=False, on_delete=OnDelete.CASCADE)),
                ('unreachable_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'whatsapp_contact', 'app': 'whatsapp', 'unique_together': (('tenant_id', 'customer_id'),), 'pk_attr': 'id',
                     'table_description': 'A customer WhatsApp told us is not on WhatsApp (error 131026): later messages skip'},
            bases=['TenantModel'],
        ),
        ops.RunPython(copy_from_core, ops.RunPython.noop),
    ]
