"""PostgreSQL: the function that advances the chain head, so that an append is one statement."""

from django.db import migrations


def forwards(apps, schema_editor):
    from audit.db import install_advance_function

    install_advance_function(schema_editor.connection)


def backwards(apps, schema_editor):
    from audit.db import drop_advance_function

    drop_advance_function(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain_head_guard")]
    operations = [migrations.RunPython(forwards, backwards)]
