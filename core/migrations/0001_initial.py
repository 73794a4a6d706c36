from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from enum import StrEnum
from seva_crm.core.common.enums import Currency, Language, Region, Role, ServiceStatus, TenantStatus, VerificationPurpose
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Channel(StrEnum):  # the closed channel vocabulary of the time (channel ids are open since 0010)
    WHATSAPP = "whatsapp"
    SMS = "sms"
    EMAIL = "email"


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='LoginAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_hash', fields.CharField(max_length=64)),
                ('ip', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'login_attempt', 'app': 'models', 'indexes': [Index(fields=['account_hash', 'created_at']), Index(fields=['ip', 'created_at'])], 'pk_attr': 'id', 'table_description': 'Failed sign-ins, for throttling. The account is kept as a hash of the email, not the email.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Tenant',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('name', fields.CharField(max_length=200)),
                ('region', fields.CharEnumField(description='IN: IN\nBD: BD', enum_type=Region, max_length=2)),
                ('timezone', fields.CharField(default='Asia/Kolkata', max_length=64)),
                ('locale', fields.CharField(default='en-IN', max_length=16)),
                ('status', fields.CharEnumField(default=TenantStatus.ACTIVE, description='ACTIVE: active\nTERMINATED: terminated', enum_type=TenantStatus, max_length=16)),
                ('terminated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'tenant', 'app': 'models', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Customer',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('phone', fields.CharField(null=True, max_length=20)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('address', fields.TextField(default='', unique=False)),
                ('date_of_birth', fields.DateField(null=True)),
                ('preferred_channel', fields.CharEnumField(default=Channel.WHATSAPP, description='WHATSAPP: whatsapp\nSMS: sms\nEMAIL: email', enum_type=Channel, max_length=16)),
                ('language', fields.CharEnumField(default=Language.EN, description='EN: en\nHI: hi\nBN: bn', enum_type=Language, max_length=8)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('notes', fields.TextField(default='', unique=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'customer', 'app': 'models', 'unique_together': (('tenant_id', 'phone'),), 'indexes': [Index(fields=['tenant_id', 'created_at', 'id']), Index(fields=['tenant_id', 'name', 'id']), Index(fields=['tenant_id', 'email'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='CustomerTag',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('tag', fields.CharField(max_length=50)),
            ],
            options={'table': 'customer_tag', 'app': 'models', 'unique_together': (('customer', 'tag'),), 'indexes': [Index(fields=['tenant_id', 'tag'])], 'pk_attr': 'id', 'table_description': 'One row per (customer, tag): lets a tag filter use an index on every database.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServiceRecord',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('service_name', fields.CharField(max_length=200)),
                ('fee_amount', fields.BigIntField(default=0)),
                ('currency', fields.CharEnumField(description='INR: INR\nBDT: BDT', enum_type=Currency, max_length=3)),
                ('status', fields.CharEnumField(default=ServiceStatus.REQUESTED, description='REQUESTED: requested\nIN_PROGRESS: in_progress\nREADY: ready\nDELIVERED: delivered\nCANCELLED: cancelled', enum_type=ServiceStatus, max_length=16)),
                ('reference_number', fields.CharField(default='', max_length=100)),
                ('follow_up_on', fields.DateField(null=True)),
                ('notes', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'service_record', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'customer_id', 'created_at']), Index(fields=['tenant_id', 'created_at', 'id']), Index(fields=['tenant_id', 'status']), Index(fields=['tenant_id', 'follow_up_on'])], 'pk_attr': 'id'},
            bases=['TenantModel'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(default='', max_length=200)),
                ('password_hash', fields.CharField(max_length=200)),
                ('role', fields.CharEnumField(default=Role.AGENT, description='VIEWER: viewer\nAGENT: agent\nADMIN: admin\nOWNER: owner', enum_type=Role, max_length=16)),
                ('is_superuser', fields.BooleanField(default=False)),
                ('is_active', fields.BooleanField(default=True)),
                ('phone', fields.CharField(null=True, max_length=20)),
                ('email_verified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('phone_verified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'staff_user', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A member of staff (``tenant`` set) or an operator-level superuser (``tenant`` null).'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('role', fields.CharEnumField(description='VIEWER: viewer\nAGENT: agent\nADMIN: admin\nOWNER: owner', enum_type=Role, max_length=16)),
                ('prefix', fields.CharField(unique=True, max_length=16)),
                ('key_hash', fields.CharField(max_length=64)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'api_key', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A server-to-server key: ``prefix`` finds the row, ``key_hash`` proves the secret.'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='RefreshToken',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('family', fields.UUIDField(db_index=True)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refresh_token', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A refresh token, stored only as a hash. Rotation keeps the ``family``, and reuse of a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VerificationCode',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='EMAIL: email\nPHONE: phone', enum_type=VerificationPurpose, max_length=16)),
                ('target', fields.CharField(max_length=254)),
                ('code_hash', fields.CharField(max_length=64)),
                ('attempts', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('consumed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'verification_code', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A one-time code proving a staff member controls an email address or phone number.'},
            bases=['Model'],
        ),
    ]
