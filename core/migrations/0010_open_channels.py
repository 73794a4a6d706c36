from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_login_attempts_use_ratelimit')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Consent',
            name='channel',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AlterField(
            model_name='Customer',
            name='preferred_channel',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AlterField(
            model_name='PrivacyRequest',
            name='code_channel',
            field=fields.CharField(default='', max_length=32),
        ),
    ]
