from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

from seva_crm.core.storage.migration_ops import RebuildField

class Migration(migrations.Migration):
    dependencies = [('models', '0011_open_channels')]

    initial = False
    atomic = False  # RebuildField: SQLite's foreign keys can only be turned off outside a transaction

    operations = [
        ops.CreateModel(
            name='RateLimit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('bucket', fields.CharField(max_length=32)),
                ('key_hash', fields.CharField(max_length=64)),
                ('hits', fields.IntField(default=0)),
                ('reset_at', fields.FloatField()),
                ('next_at', fields.FloatField(default=0)),
                ('delay', fields.FloatField(default=0)),
            ],
            options={'table': 'rate_limit', 'app': 'models', 'unique_together': (('bucket', 'key_hash'),), 'indexes': [Index(fields=['reset_at'])], 'pk_attr': 'id', 'table_description': 'One counter of a rate limit (core.common.ratelimit): a bucket and a keyed digest of who'},
            bases=['Model'],
        ),
        RebuildField(
            model_name='Payment',
            name='provider_payment_id',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddConstraint(
            model_name='Payment',
            constraint=UniqueConstraint(fields=('tenant_id', 'provider_payment_id'), name=None),
        ),
        RebuildField(
            model_name='Refund',
            name='provider_refund_id',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddConstraint(
            model_name='Refund',
            constraint=UniqueConstraint(fields=('tenant_id', 'provider_refund_id'), name=None),
        ),
        ops.DeleteModel(name='RateLimitHit'),
    ]
