from tortoise import migrations
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

from seva_crm.plugin_api import AdoptModel


class Migration(migrations.Migration):
    """The suppression list, adopted from core (migration 0010 handed the table over, rows and
    all) or created where there is none."""

    dependencies = [('models', '0010_plugins_own_their_data')]

    initial = True

    operations = [
        AdoptModel(
            name='EmailSuppression',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id',
                                                  related_name=False, on_delete=OnDelete.CASCADE)),
                ('address_hash', fields.CharField(max_length=64)),
                ('reason', fields.CharField(max_length=32)),
                ('detail', fields.CharField(default='', max_length=200)),
                ('message', fields.ForeignKeyField('models.Message', source_field='message_id', null=True, db_constraint=True,
                                                   to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'email_suppression', 'app': 'email', 'unique_together': (('tenant_id', 'address_hash'),), 'pk_attr': 'id',
                     'table_description': 'An address that bounced for good: no email goes to it again. The address is kept as a'},
            bases=['TenantModel'],
        ),
    ]
