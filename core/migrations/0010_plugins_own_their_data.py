from tortoise import migrations

from seva_crm.core.storage.migration_ops import DropColumn, HandOverModel


class Migration(migrations.Migration):
    """Providers' data moves to the plugins that own it. The email suppression list is handed
    to the email plugin, table and rows (its migration email.0001 adopts them; without the
    email plugin loaded the table stays, unused, until it is). WhatsApp's
    reachability moves to the whatsapp plugin's whatsapp_contact table: its migration
    whatsapp.0001 copies the column and runs before this one, which drops it (without the
    whatsapp plugin the values are lost: a cache that WhatsApp re-teaches on the next send)."""

    dependencies = [('models', '0009_login_attempts_use_ratelimit')]

    initial = False

    operations = [
        HandOverModel(name='EmailSuppression'),
        DropColumn(model_name='Customer', name='whatsapp_unreachable_at'),
    ]
