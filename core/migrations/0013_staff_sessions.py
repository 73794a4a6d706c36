from tortoise import migrations

from seva_crm.core.storage.migration_ops import AlterColumn
from tortoise.migrations import operations as ops
from seva_crm.core.common.enums import SessionEndReason, VerificationPurpose
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_ratelimit_counters_tenant_provider_ids')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ip', fields.CharField(default='', max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=300)),
                ('last_ip', fields.CharField(default='', max_length=64)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_reason', fields.CharEnumField(null=True, description='LOGOUT: logout\nREVOKED: revoked\nREFRESH_TOKEN_REUSE: refresh_token_reuse\nUSER_DEACTIVATED: user_deactivated\nPASSWORD_CHANGED: password_changed\nPASSWORD_RESET: password_reset', enum_type=SessionEndReason, max_length=32)),
            ],
            options={'table': 'staff_session', 'app': 'models', 'indexes': [Index(fields=['user_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One sign-in of a member of staff: the family of refresh tokens rotated from one login'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='RefreshToken',
            options={'table': 'refresh_token', 'app': 'models', 'pk_attr': 'id', 'table_description': "A refresh token, stored only as a hash. Rotation keeps the ``family`` (the Session's id),"},
        ),
        AlterColumn(
            model_name='VerificationCode',
            name='purpose',
            field=fields.CharEnumField(description='EMAIL: email\nPHONE: phone\nPASSWORD_RESET: password_reset', enum_type=VerificationPurpose, max_length=16),
        ),
    ]
