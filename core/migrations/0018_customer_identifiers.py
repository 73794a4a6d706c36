from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0017_list_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CustomerIdentifier',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=16)),
                ('value', fields.TextField(unique=False)),
                ('last4', fields.CharField(max_length=4)),
            ],
            options={'table': 'customer_identifier', 'app': 'models', 'unique_together': (('customer_id', 'kind'),), 'indexes': [Index(fields=['tenant_id', 'customer_id'])], 'pk_attr': 'id', 'table_description': 'A government identifier a centre records for a customer (Aadhaar, voter id, NID, PAN,'},
            bases=['TenantModel'],
        ),
    ]
