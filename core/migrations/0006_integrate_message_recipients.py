from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_sms')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='Message',
            options={'table': 'message', 'app': 'models', 'unique_together': (('tenant_id', 'idempotency_key'),), 'indexes': [Index(fields=['tenant_id', 'created_at', 'id']), Index(fields=['tenant_id', 'customer_id', 'created_at']), Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'One outbound notification. Its recipient is a customer, or (alerts) a member of staff.'},
        ),
        ops.AddField(
            model_name='Message',
            name='only_channel',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='Message',
            name='user',
            field=fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
    ]
