from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0023_money_flows_2')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Message',
            name='attachment',
            field=fields.JSONField(null=True),
        ),
    ]
