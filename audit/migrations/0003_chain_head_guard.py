"""Guard the chain head too: it only moves forward, one append at a time, and is never deleted."""

from django.db import migrations


def forwards(apps, schema_editor):
    from audit.db import install_append_only_triggers

    install_append_only_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_and_head")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
