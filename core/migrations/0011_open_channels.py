"""Channel ids are open: the customer's preferred channel, consent entries and privacy codes hold
any plugin's channel id or kind (up to 32 characters); "" is no preference (the tenant's order).
SQLite keeps its tables as they are (see AlterColumn)."""
from tortoise import migrations
from tortoise import fields

from seva_crm.core.storage.migration_ops import AlterColumn


class Migration(migrations.Migration):
    dependencies = [('models', '0010_plugins_own_their_data')]

    initial = False

    operations = [
        AlterColumn(
            model_name='Consent',
            name='channel',
            field=fields.CharField(null=True, max_length=32),
        ),
        AlterColumn(
            model_name='Customer',
            name='preferred_channel',
            field=fields.CharField(default='', max_length=32),
        ),
        AlterColumn(
            model_name='PrivacyRequest',
            name='code_channel',
            field=fields.CharField(default='', max_length=32),
        ),
    ]
