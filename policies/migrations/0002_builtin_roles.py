"""The built-in management roles exist from the first migration under their names."""

from django.db import migrations

BUILTIN = {
    "ACCOUNT_ADMIN": "Users, groups, service accounts, roles and bindings, SSO and SCIM settings.",
    "VAULT_OWNER": "Vault schemas, policies and keys (of the bound vault, or of all vaults).",
    "AUDITOR": "Reads and exports the audit log and verifies its chain.",
}


def forwards(apps, schema_editor):
    Role = apps.get_model("policies", "Role")
    for name, description in BUILTIN.items():
        Role.objects.using(schema_editor.connection.alias).update_or_create(
            name=name, defaults={"description": description, "builtin": True}
        )


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
