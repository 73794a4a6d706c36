from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from seva_crm.core.common.enums import Currency, TicketPriority, TicketStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0020_crm_search_households')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Conversation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('assignee', fields.ForeignKeyField('models.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('last_inbound_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'conversation', 'app': 'models', 'unique_together': (('tenant_id', 'customer_id'),), 'indexes': [Index(fields=['tenant_id', 'last_inbound_at']), Index(fields=['tenant_id', 'assignee_id'])], 'pk_attr': 'id', 'table_description': "A customer's thread of messages on every channel: who handles it, and up to when it was read."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='CrmSettings',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('sla', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('lead_stages', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'crm_settings', 'app': 'models', 'unique_together': (('tenant_id',),), 'pk_attr': 'id', 'table_description': "A tenant's CRM settings: ticket SLA minutes by priority, lead pipeline stages in order."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='CustomerNote',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('body', fields.TextField(unique=False)),
            ],
            options={'table': 'customer_note', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'customer_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Lead',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('phone', fields.CharField(null=True, max_length=20)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('source', fields.CharField(default='', max_length=50)),
                ('stage', fields.CharField(max_length=50)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('value_amount', fields.BigIntField(default=0)),
                ('currency', fields.CharEnumField(description='INR: INR\nBDT: BDT', enum_type=Currency, max_length=3)),
                ('next_action', fields.CharField(default='', max_length=500)),
                ('next_action_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('notes', fields.TextField(default='', unique=False)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('converted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'lead', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'created_at', 'id']), Index(fields=['tenant_id', 'stage'])], 'pk_attr': 'id', 'table_description': "A prospective customer moving through the tenant's pipeline stages."},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='StatusRule',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('subject', fields.CharField(max_length=32)),
                ('status', fields.CharField(max_length=32)),
                ('template', fields.CharField(max_length=64)),
                ('enabled', fields.BooleanField(default=True)),
            ],
            options={'table': 'status_rule', 'app': 'models', 'unique_together': (('tenant_id', 'subject', 'status'),), 'pk_attr': 'id', 'table_description': 'Send ``template`` to the customer when a ``subject`` (service_record, ticket) enters ``status``.'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='Ticket',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('parent', fields.ForeignKeyField('models.Ticket', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('is_incident', fields.BooleanField(default=False)),
                ('subject', fields.CharField(max_length=200)),
                ('category', fields.CharField(default='', max_length=50)),
                ('priority', fields.CharEnumField(description='LOW: low\nNORMAL: normal\nHIGH: high\nURGENT: urgent', enum_type=TicketPriority, max_length=16)),
                ('status', fields.CharEnumField(default=TicketStatus.OPEN, description='OPEN: open\nIN_PROGRESS: in_progress\nWAITING: waiting\nRESOLVED: resolved\nCLOSED: closed', enum_type=TicketStatus, max_length=16)),
                ('assignee', fields.ForeignKeyField('models.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('first_response_due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('resolution_due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('first_responded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ticket', 'app': 'models', 'unique_together': (('tenant_id', 'number'),), 'indexes': [Index(fields=['tenant_id', 'created_at', 'id']), Index(fields=['tenant_id', 'customer_id', 'created_at']), Index(fields=['tenant_id', 'parent_id'])], 'pk_attr': 'id', 'table_description': 'A support ticket of one customer, or an incident (``is_incident``, no customer) whose child'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='TicketComment',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('ticket', fields.ForeignKeyField('models.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('body', fields.TextField(unique=False)),
                ('internal', fields.BooleanField(default=True)),
            ],
            options={'table': 'ticket_comment', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'ticket_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A comment on a ticket: internal (staff only) or sent to the customer (``message``).'},
            bases=['TenantModel'],
        ),
    ]
