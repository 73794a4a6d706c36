from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0018_customer_identifiers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Disclosure',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('provider', fields.CharField(max_length=64)),
                ('recipient', fields.CharField(max_length=200)),
                ('categories', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('purpose', fields.CharField(default='', max_length=32)),
                ('subject_type', fields.CharField(max_length=32)),
                ('subject_id', fields.UUIDField(null=True)),
                ('disclosed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'disclosure', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'customer_id', 'disclosed_at']), Index(fields=['tenant_id', 'disclosed_at'])], 'pk_attr': 'id', 'table_description': 'Personal data that left through a plugin: a message sent through a provider, a payment'},
            bases=['TenantModel'],
        ),
        ops.AddField(
            model_name='Message',
            name='secret',
            field=fields.CharField(default='', max_length=8),
        ),
        ops.AddField(
            model_name='Tenant',
            name='slug',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
    ]
