from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from seva_crm.core.common.enums import MessageStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Consent',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharField(max_length=32)),
                ('channel', fields.CharField(null=True, max_length=16)),
                ('granted', fields.BooleanField()),
                ('source', fields.CharField(max_length=32)),
                ('notice_version', fields.CharField(default='', max_length=32)),
                ('evidence', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'consent', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'customer_id', 'purpose', 'created_at'])], 'pk_attr': 'id', 'table_description': "One entry of a customer's consent history: rows are added, never changed. The latest"},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Message',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('purpose', fields.CharField(max_length=16)),
                ('template', fields.CharField(max_length=64)),
                ('body', fields.TextField(default='', unique=False)),
                ('variables', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('channel', fields.CharField(null=True, max_length=32)),
                ('channels_tried', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=MessageStatus.QUEUED, description='QUEUED: queued\nSENDING: sending\nSENT: sent\nDELIVERED: delivered\nREAD: read\nFAILED: failed', enum_type=MessageStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('provider_id', fields.CharField(null=True, db_index=True, max_length=128)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('idempotency_key', fields.CharField(max_length=128)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'message', 'app': 'models', 'unique_together': (('tenant_id', 'idempotency_key'),), 'indexes': [Index(fields=['tenant_id', 'created_at', 'id']), Index(fields=['tenant_id', 'customer_id', 'created_at']), Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='PluginSettings',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('plugin_id', fields.CharField(max_length=64)),
                ('enabled', fields.BooleanField(null=True)),
                ('values', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('secrets', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'plugin_settings', 'app': 'models', 'unique_together': (('tenant_id', 'plugin_id'),), 'pk_attr': 'id', 'table_description': "A tenant's choice for one plugin. ``secrets`` holds ciphertexts only (see core.crypto)."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='SchedulerLease',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=100)),
                ('holder', fields.CharField(default='', max_length=100)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_run_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'scheduler_lease', 'app': 'models', 'pk_attr': 'name', 'table_description': 'Whoever moves ``expires_at`` forward runs the job: one run per interval across schedulers.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Tenant',
            name='channel_fallback',
            field=fields.JSONField(default=['whatsapp', 'sms', 'email'], encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
