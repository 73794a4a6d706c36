from tortoise import migrations
from tortoise.migrations import operations as ops

class Migration(migrations.Migration):
    dependencies = [('models', '0008_email')]

    initial = False

    operations = [
        ops.DeleteModel(name='LoginAttempt'),
    ]
