from tortoise import migrations

from seva_crm.core.storage.migration_ops import AlterColumn
from tortoise.migrations import operations as ops
from seva_crm.core.common.enums import Currency, InvoiceStatus, LatePaymentAction
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0021_crm_2')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Credit',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.NO_ACTION)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.NO_ACTION)),
                ('amount', fields.BigIntField()),
                ('currency', fields.CharEnumField(description='INR: INR\nBDT: BDT', enum_type=Currency, max_length=3)),
                ('reason', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'billing_credit', 'app': 'models', 'unique_together': (('tenant_id', 'payment_id'),), 'indexes': [Index(fields=['tenant_id', 'customer_id'])], 'pk_attr': 'id', 'table_description': 'Money a customer has with the tenant (a payment for a void invoice, unused days of a changed plan).'},
            bases=['TenantModel'],
        ),
        ops.AddField(
            model_name='BillingSettings',
            name='late_payment_action',
            field=fields.CharEnumField(default=LatePaymentAction.CREDIT, db_default='credit', description='CREDIT: credit\nREFUND: refund', enum_type=LatePaymentAction, max_length=16),
        ),
        ops.AddField(
            model_name='BillingSettings',
            name='upi_vpa',
            field=fields.CharField(default='', db_default='', max_length=100),
        ),
        AlterColumn(
            model_name='Invoice',
            name='status',
            field=fields.CharEnumField(default=InvoiceStatus.OPEN, description='DRAFT: draft\nOPEN: open\nPAID: paid\nVOID: void\nUNCOLLECTIBLE: uncollectible\nREFUNDED: refunded', enum_type=InvoiceStatus, max_length=16),
        ),
        ops.AddField(
            model_name='Refund',
            name='refunded_by',
            field=fields.ForeignKeyField('models.User', source_field='refunded_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL),
        ),
    ]
