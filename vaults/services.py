"""Writes about vaults and their schema; each audited in its transaction.

Schema changes follow one rule: a change that would need existing values rewritten, re-validated
or re-indexed is refused while the column holds data (with a message saying so); dropping a table
or a column that holds data needs an explicit ``confirm_drop``.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from audit.actors import Actor
from audit.services import audit_append
from policies.services import bump_policy_version
from vaultstudio.db import save_unique
from vaultstudio.errors import BadRequest, Conflict
from vaultstudio.inputs import clean_name

from .keys import vault_keys_create
from .models import BlindIndex, Column, Record, Table, Vault
from .schema import ColumnSpec, SchemaErrors, SchemaSpec, TableSpec, parse_schema

# Options whose change would need existing values rewritten, re-indexed or re-validated.
_NEEDS_EMPTY_COLUMN = ("data_type", "encrypted")
_NEEDS_EMPTY_TO_TIGHTEN = ("searchable", "unique", "required")


def parse_schema_or_400(doc: Any) -> SchemaSpec:
    try:
        return parse_schema(doc)
    except SchemaErrors as exc:
        raise BadRequest(f"The schema is invalid: {exc}", details=exc.details) from exc


def vault_create(*, actor: Actor, name: str, description: str = "", schema: SchemaSpec | None = None) -> Vault:
    """Create a vault (and its schema, when given) in one transaction."""
    vault = Vault(name=clean_name(name, max_length=128), description=description or "", created_by=actor.display[:255])
    with transaction.atomic():
        save_unique(vault, f"A vault named {vault.name!r} already exists.")
        vault_keys_create(vault)
        changes = _apply(vault, schema or SchemaSpec(tables=()), confirm_drop=False)
        audit_append(
            actor=actor,
            action="vault.create",
            resource_type="VAULT",
            resource_ids=[str(vault.id)],
            vault_id=str(vault.id),
            details={"name": vault.name, "schema": changes},
        )
    return vault


def vault_update(*, actor: Actor, vault: Vault, **changes: Any) -> Vault:
    unknown = set(changes) - {"name", "description", "rotation_period_days"}
    if unknown:
        raise BadRequest(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    before = {"name": vault.name, "description": vault.description, "rotation_period_days": vault.rotation_period_days}
    if "name" in changes:
        vault.name = clean_name(changes["name"], max_length=128)
    if "description" in changes:
        vault.description = str(changes["description"] or "")
    if "rotation_period_days" in changes:
        days = changes["rotation_period_days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
            raise BadRequest("rotation_period_days must be an integer from 1 to 3650.")
        vault.rotation_period_days = days
    after = {"name": vault.name, "description": vault.description, "rotation_period_days": vault.rotation_period_days}
    if after == before:
        return vault
    with transaction.atomic():
        save_unique(vault, f"A vault named {vault.name!r} already exists.")
        bump_policy_version()  # the data plane keeps vault rows per process under that version
        audit_append(
            actor=actor,
            action="vault.update",
            resource_type="VAULT",
            resource_ids=[str(vault.id)],
            vault_id=str(vault.id),
            details={"before": before, "after": after},
        )
    return vault


def vault_delete(*, actor: Actor, vault: Vault, confirm: bool = False) -> None:
    """Delete a vault. One holding records needs ``confirm``: its data is gone for good."""
    records = Record.objects.filter(table__vault=vault).count()
    if records and not confirm:
        raise Conflict(
            f"Vault {vault.name} holds {records} record(s); deleting it destroys them. Repeat with ?confirm=delete."
        )
    with transaction.atomic():
        vault_id, name = str(vault.id), vault.name
        vault.delete()
        bump_policy_version()  # the data plane keeps vault rows per process under that version
        audit_append(
            actor=actor,
            action="vault.delete",
            resource_type="VAULT",
            resource_ids=[vault_id],
            vault_id=vault_id,
            details={"name": name, "records_deleted": records},
        )


def vault_schema_update(
    *, actor: Actor, vault: Vault, schema: SchemaSpec, confirm_drop: bool = False
) -> dict[str, Any]:
    """Make the vault's schema equal ``schema``: add, change and drop tables and columns."""
    with transaction.atomic():
        changes = _apply(vault, schema, confirm_drop=confirm_drop)
        if any(changes.values()):
            bump_policy_version()  # compiled policy sets are built over the schema
            audit_append(
                actor=actor,
                action="vault.schema.update",
                resource_type="VAULT",
                resource_ids=[str(vault.id)],
                vault_id=str(vault.id),
                details=changes,
            )
    return changes


# --- the diff -----------------------------------------------------------------------------------------


def _column_values(spec: ColumnSpec, position: int) -> dict[str, Any]:
    return {
        "position": position,
        "data_type": spec.data_type,
        "required": spec.required,
        "unique": spec.unique,
        "validation": list(spec.validation),
        "encrypted": spec.encrypted,
        "searchable": spec.searchable,
        "tokenization": spec.tokenization,
        "token_ttl_minutes": spec.token_ttl_minutes,
        "default_redaction": spec.default_redaction,
        "masking": dict(spec.masking),
        "column_group": spec.column_group or "",
    }


def spec_of(column: Column) -> ColumnSpec:
    """A stored column as its schema-document spec."""
    return ColumnSpec(
        name=column.name,
        data_type=column.data_type,
        required=column.required,
        unique=column.unique,
        validation=tuple(column.validation),
        encrypted=column.encrypted,
        searchable=column.searchable,
        tokenization=column.tokenization,
        token_ttl_minutes=column.token_ttl_minutes,
        default_redaction=column.default_redaction,
        masking=dict(column.masking) or {"preset": "full"},
        column_group=column.column_group or None,
    )


def _holds_data(table: Table, column: str | None = None) -> bool:
    records = Record.objects.filter(table=table)
    if column is not None:
        records = records.filter(data__has_key=column)
    return records.exists()


def _drop_values(table: Table, column: str) -> None:
    # One statement in the database, not a Python loop over every record.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("UPDATE vaults_record SET data = data - %s WHERE table_id = %s", [column, table.pk])
        else:
            cursor.execute(
                "UPDATE vaults_record SET data = json_remove(data, %s) WHERE table_id = %s",
                [f'$."{column}"', table.pk],
            )


def _apply(vault: Vault, schema: SchemaSpec, *, confirm_drop: bool) -> dict[str, Any]:
    problems: list[dict[str, str]] = []
    changes: dict[str, list[str]] = {
        "tables_added": [],
        "tables_dropped": [],
        "columns_added": [],
        "columns_changed": [],
        "columns_dropped": [],
    }
    existing = {t.name: t for t in Table.objects.filter(vault=vault).prefetch_related("columns")}
    wanted = {t.name: t for t in schema.tables}
    for name in sorted(set(existing) - set(wanted)):
        if _holds_data(existing[name]) and not confirm_drop:
            problems.append({"field": f"tables.{name}", "message": "holds records; dropping it needs ?confirm=drop."})
    for t_index, table_spec in enumerate(schema.tables):
        table = existing.get(table_spec.name)
        if table is not None:
            problems.extend(_check_columns(table, table_spec, t_index, confirm_drop))
    if problems:
        raise Conflict(
            "The schema change would lose or invalidate stored data: "
            + "; ".join(f"{p['field']}: {p['message']}" for p in problems),
            details=problems,
        )

    for name in sorted(set(existing) - set(wanted)):
        existing[name].delete()
        changes["tables_dropped"].append(name)
    for table_spec in schema.tables:
        table = existing.get(table_spec.name)
        if table is None:
            table = Table.objects.create(vault=vault, name=table_spec.name)
            changes["tables_added"].append(table_spec.name)
        _sync_columns(table, table_spec, changes)
    return changes


def _check_columns(table: Table, spec: TableSpec, t_index: int, confirm_drop: bool) -> list[dict[str, str]]:
    problems = []
    current = {c.name: c for c in table.columns.all()}
    wanted = {c.name: c for c in spec.columns}
    for name in sorted(set(current) - set(wanted)):
        if _holds_data(table, name) and not confirm_drop:
            problems.append(
                {
                    "field": f"tables[{t_index}].columns.{name}",
                    "message": "holds data; dropping it needs ?confirm=drop.",
                }
            )
    for c_index, column_spec in enumerate(spec.columns):
        column = current.get(column_spec.name)
        if column is None:
            continue
        before = spec_of(column)
        path = f"tables[{t_index}].columns[{c_index}]"
        changed_hard = [f for f in _NEEDS_EMPTY_COLUMN if getattr(before, f) != getattr(column_spec, f)]
        tightened = [f for f in _NEEDS_EMPTY_TO_TIGHTEN if getattr(column_spec, f) and not getattr(before, f)]
        if before.validation != column_spec.validation and column_spec.validation:
            tightened.append("validation")
        if (changed_hard or tightened) and _holds_data(table, column.name):
            problems.append(
                {
                    "field": path,
                    "message": f"holds data, so {', '.join(changed_hard + tightened)} cannot change now "
                    "(existing values would need rewriting, re-indexing or re-validation).",
                }
            )
    return problems


def _sync_columns(table: Table, spec: TableSpec, changes: dict[str, list[str]]) -> None:
    current = {c.name: c for c in table.columns.all()}
    wanted = {c.name for c in spec.columns}
    for name in sorted(set(current) - wanted):
        _drop_values(table, name)
        current[name].delete()
        changes["columns_dropped"].append(f"{table.name}.{name}")
    for position, column_spec in enumerate(spec.columns):
        values = _column_values(column_spec, position)
        column = current.get(column_spec.name)
        if column is None:
            Column.objects.create(table=table, name=column_spec.name, **values)
            changes["columns_added"].append(f"{table.name}.{column_spec.name}")
            continue
        if spec_of(column) == column_spec and column.position == position:
            continue
        if column.searchable and not column_spec.searchable:
            BlindIndex.objects.filter(column=column).delete()
        for key, value in values.items():
            setattr(column, key, value)
        column.save()
        changes["columns_changed"].append(f"{table.name}.{column_spec.name}")
