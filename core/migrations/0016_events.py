from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0015_gateway_reviews')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Change',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('seq', fields.BigIntField()),
                ('type', fields.CharField(max_length=32)),
                ('object_id', fields.UUIDField()),
                ('op', fields.CharField(max_length=8)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'change_log', 'app': 'models', 'unique_together': (('tenant_id', 'seq'),), 'indexes': [Index(fields=['occurred_at'])], 'pk_attr': 'id', 'table_description': 'One created, updated or deleted object of a tenant: ids and the kind of change, no data.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChangeCounter',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('seq', fields.BigIntField(default=0)),
                ('pruned_through', fields.BigIntField(default=0)),
            ],
            options={'table': 'change_counter', 'app': 'models', 'unique_together': (('tenant_id',),), 'pk_attr': 'id', 'table_description': "A tenant's change-feed sequence. Its row is updated in the transaction of each change, so"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('url', fields.CharField(max_length=2000)),
                ('description', fields.CharField(default='', max_length=200)),
                ('event_types', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('secret', fields.TextField(unique=False)),
                ('enabled', fields.BooleanField(default=True)),
                ('disabled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('disabled_reason', fields.CharField(default='', max_length=300)),
                ('consecutive_failures', fields.IntField(default=0)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_endpoint', 'app': 'models', 'pk_attr': 'id', 'table_description': "Where a tenant's systems hear of its events. ``secret`` is a ciphertext (core.common.crypto)."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.ForeignKeyField('models.WebhookEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('event_id', fields.CharField(max_length=64)),
                ('event_type', fields.CharField(max_length=64)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharField(default='pending', max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('attempt_log', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status_code', fields.IntField(null=True)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_delivery', 'app': 'models', 'indexes': [Index(fields=['endpoint_id', 'created_at']), Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'One event sent to one endpoint, with every attempt (time, status code, duration, error).'},
            bases=['TenantModel'],
        ),
    ]
