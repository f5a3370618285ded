"""Make the audit table append-only (triggers on PostgreSQL and SQLite) and create the chain head."""

from django.db import migrations


def forwards(apps, schema_editor):
    from audit.chain import GENESIS_HASH
    from audit.db import install_append_only_triggers

    install_append_only_triggers(schema_editor.connection)
    apps.get_model("audit", "ChainHead").objects.using(schema_editor.connection.alias).get_or_create(
        id=1, defaults={"seq": 0, "hash": GENESIS_HASH}
    )


def backwards(apps, schema_editor):
    from audit.db import drop_append_only_triggers

    drop_append_only_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
