from tortoise import migrations
from tortoise.migrations import operations as ops
from seva_crm.core.common.enums import GatewayReviewKind, GatewayReviewResolution
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0014_invitations')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GatewayReview',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharField(max_length=32)),
                ('provider_payment_id', fields.CharField(max_length=64)),
                ('invoice', fields.ForeignKeyField('models.Invoice', source_field='invoice_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('kind', fields.CharEnumField(description='AMOUNT_MISMATCH: amount_mismatch\nCURRENCY_MISMATCH: currency_mismatch\nOVERPAYMENT: overpayment\nRISK_HOLD: risk_hold', enum_type=GatewayReviewKind, max_length=24)),
                ('amount', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('expected_amount', fields.BigIntField(default=0)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('method_detail', fields.CharField(default='', max_length=100)),
                ('detail', fields.CharField(default='', max_length=200)),
                ('resolution', fields.CharEnumField(null=True, description='ACCEPTED: accepted\nREFUNDED: refunded\nDISMISSED: dismissed', enum_type=GatewayReviewResolution, max_length=16)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_by', fields.ForeignKeyField('models.User', source_field='resolved_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('provider_refund_id', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'billing_gateway_review', 'app': 'models', 'unique_together': (('tenant_id', 'provider', 'provider_payment_id'),), 'indexes': [Index(fields=['tenant_id', 'resolved_at'])], 'pk_attr': 'id', 'table_description': 'One per gateway payment (tenant, provider, provider payment id): repeats flag nothing new.'},
            bases=['TenantModel'],
        ),
    ]
