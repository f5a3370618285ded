"""PostgreSQL: drop the LIKE twins of the audit table's indexes that are only ever matched exactly
(``action`` keeps its own: the audit filters match action prefixes)."""

from django.db import migrations

from vaultstudio.db import like_index_operations


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_advance_function")]
    operations = [like_index_operations("audit", "AuditEvent", ["event_id", "actor_id", "vault_id", "request_id"])]
