from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0022_money_flows')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CustomerTax',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('tax_id', fields.CharField(default='', max_length=15)),
                ('state_code', fields.CharField(default='', max_length=2)),
            ],
            options={'table': 'billing_customer_tax', 'app': 'models', 'unique_together': (('tenant_id', 'customer_id'),), 'pk_attr': 'id', 'table_description': "A business customer's tax identity (B2B): GSTIN or BIN, and for India the GST state code"},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='TenantProfile',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('legal_name', fields.CharField(default='', max_length=200)),
                ('registration_number', fields.CharField(default='', max_length=64)),
                ('address_line1', fields.CharField(default='', max_length=200)),
                ('address_line2', fields.CharField(default='', max_length=200)),
                ('city', fields.CharField(default='', max_length=100)),
                ('state', fields.CharField(default='', max_length=100)),
                ('state_code', fields.CharField(default='', max_length=2)),
                ('postal_code', fields.CharField(default='', max_length=12)),
                ('country', fields.CharField(default='', max_length=2)),
                ('gstin', fields.CharField(default='', max_length=15)),
                ('bin', fields.CharField(default='', max_length=13)),
                ('phone', fields.CharField(default='', max_length=20)),
                ('email', fields.CharField(default='', max_length=254)),
                ('logo', fields.BinaryField(null=True)),
                ('logo_type', fields.CharField(default='', max_length=16)),
            ],
            options={'table': 'tenant_profile', 'app': 'models', 'unique_together': (('tenant_id',),), 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.AddField(
            model_name='Invoice',
            name='place_of_supply',
            field=fields.CharField(default='', db_default='', max_length=2),
        ),
        ops.AddField(
            model_name='Invoice',
            name='recipient_tax_id',
            field=fields.CharField(default='', db_default='', max_length=15),
        ),
        ops.AddField(
            model_name='Invoice',
            name='supplier_state_code',
            field=fields.CharField(default='', db_default='', max_length=2),
        ),
        ops.AddField(
            model_name='Invoice',
            name='supplier_tax_id',
            field=fields.CharField(default='', db_default='', max_length=15),
        ),
        ops.AddField(
            model_name='InvoiceLine',
            name='hsn_sac',
            field=fields.CharField(default='', db_default='', max_length=8),
        ),
        ops.AddField(
            model_name='Plan',
            name='hsn_sac',
            field=fields.CharField(default='', db_default='', max_length=8),
        ),
    ]
