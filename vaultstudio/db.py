"""Small database helpers shared by the services."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from functools import partial
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.backends.utils import CursorDebugWrapper

from .errors import Conflict


def save_unique(instance: models.Model, conflict_message: str) -> None:
    """Save, turning a unique-constraint violation of *this* save into a 409.

    Only the save runs in the savepoint: an IntegrityError raised later in the same transaction (an
    audit append refused by the database, say) must stay a failure, not pose as a duplicate name.
    """
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise Conflict(conflict_message) from exc


def _preparer(field: models.Field) -> Callable[[Any], Any] | None:
    """How one field's Python value becomes a query parameter on this backend (None: as it is): the
    cheap direct form for the kinds the hot write paths use, Django's ``get_db_prep_save`` otherwise."""
    vendor = connection.vendor
    if isinstance(field, models.ForeignKey):
        return _preparer(field.target_field)
    if isinstance(field, models.UUIDField):
        if vendor == "sqlite":
            return lambda v: None if v is None else (v.hex if isinstance(v, uuid.UUID) else uuid.UUID(str(v)).hex)
        return None
    if isinstance(field, models.JSONField):
        return json.dumps
    if isinstance(field, models.DateTimeField):
        prep = partial(field.get_db_prep_save, connection=connection)
        last: list[Any] = [object(), None]

        def datetime_value(v: Any) -> Any:
            # Rows of one batch share their timestamps: adapt each distinct one once.
            if v is not last[0]:
                last[0], last[1] = v, prep(v)
            return last[1]

        return datetime_value
    if isinstance(field, models.CharField | models.TextField | models.BooleanField | models.IntegerField):
        return None
    return partial(field.get_db_prep_save, connection=connection)


def insert_many(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT rows of Python values, in ``fields`` order (a foreign key by its id), with one
    ``executemany`` (one ``COPY`` on PostgreSQL): what ``bulk_create`` does without model instances,
    without building its query per batch and without preparing each value through Django's generic
    layers (together they cost more than the database on the data plane's insert path).

    Defaults and auto_now fields are not applied: give every value.
    """
    if not rows:
        return
    meta = model._meta
    concrete = [meta.get_field(name) for name in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in concrete)
    placeholders = ", ".join(["%s"] * len(concrete))
    sql = f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) VALUES ({placeholders})"
    steps = [(i, prep) for i, prep in enumerate(_preparer(f) for f in concrete) if prep is not None]
    params: Sequence[Sequence[Any]] = rows
    if steps:
        params = []
        for row in rows:
            values = list(row)
            for i, prep in steps:
                values[i] = prep(values[i])
            params.append(values)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(sql, params)
            return
        # PostgreSQL: COPY. An executemany is one statement per row (pipelined, but each parsed,
        # planned and answered), and a multi-row VALUES or an INSERT from arrays cost 2-3× the time
        # of COPY for the data plane's batches (measured: 100 records, 5-6 ms against 2).
        copy_sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
        logged = cursor.debug_sql(copy_sql, many=True) if isinstance(cursor, CursorDebugWrapper) else nullcontext()
        with logged, connection.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
            for row in params:
                copy.write_row(row)


def rows_matching(values: Sequence[Any], sql_type: str, table_sql: str, column_sql: str) -> tuple[str, list[Any]]:
    """A FROM clause of the rows of ``table_sql`` whose ``column_sql`` is one of ``values``, driven
    by the values (one index probe each) and given as one parameter, whatever their number: a JSON
    array of strings, which both encoders and both databases handle in C.

    ``IN (…)`` or ``= ANY(…)`` over a thousand values made PostgreSQL filter each row with a linear
    search of the array (45 ms for 1,000 tokens; joined, 1 ms); psycopg re-parses a statement with
    more than 50 placeholders on every call, and quotes an array parameter element by element in
    Python. SQLite's CROSS JOIN keeps the values as the outer loop (its planner otherwise may scan
    the table and the values for each row).
    """
    param = [json.dumps([str(v) for v in values])]
    if connection.vendor == "postgresql":
        wanted = "wanted.value" if sql_type == "text" else f"wanted.value::{sql_type}"
        elements = "jsonb_array_elements_text(%s::jsonb) AS wanted(value)"
        return f"{elements} JOIN {table_sql} ON {column_sql} = {wanted}", param
    return f"json_each(%s) AS wanted CROSS JOIN {table_sql} ON {column_sql} = wanted.value", param


def uuid_text(column_sql: str) -> str:
    """A UUID column selected as text (SQLite stores the 32 hex digits): hashing a str costs less
    than hashing a UUID, and the data plane's answers are text anyway."""
    return f"{column_sql}::text" if connection.vendor == "postgresql" else column_sql


def json_member(document_sql: str, key: str, *, text: bool) -> tuple[str, list[Any]]:
    """SQL selecting one member of a JSON column: with ``text``, a string member as its text (a
    sealed value); otherwise the member's JSON, read back by ``read_json_member``. Two
    columns either way (SQLite's json_extract turns true into 1, so its type comes along)."""
    if connection.vendor == "postgresql":
        return f"({document_sql} ->> %s), NULL" if text else f"({document_sql} -> %s), NULL", [key]
    path = f'$."{key}"'  # schema names are lowercase identifiers: nothing to escape
    return f"json_extract({document_sql}, %s), json_type({document_sql}, %s)", [path, path]


def read_json_member(value: Any, kind: str | None) -> Any:
    """The Python value of a ``json_member`` (not ``text``) pair of columns."""
    if kind is None:  # PostgreSQL: the member's JSON text, or NULL when absent
        return None if value is None else json.loads(value)
    if kind in ("true", "false"):
        return kind == "true"
    return json.loads(value) if kind in ("object", "array") else value


def like_index_operations(app_label: str, model_name: str, columns: Sequence[str]) -> Any:
    """A migration operation dropping, on PostgreSQL, the ``varchar_pattern_ops`` twins Django adds to
    indexed text columns for LIKE/startswith, where nothing filters those columns by prefix (every
    index is written on every insert); the reverse creates them again."""
    from django.db import migrations

    def names(apps: Any, schema_editor: Any) -> list[tuple[str, str, str]]:
        table = apps.get_model(app_label, model_name)._meta.db_table
        name = schema_editor._create_index_name
        return [(table, column, name(table, [column], suffix="_like")) for column in columns]

    def drop(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for _, _, name in names(apps, schema_editor):
                schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def create(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for table, column, name in names(apps, schema_editor):
                quote = schema_editor.quote_name
                schema_editor.execute(
                    f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} ({quote(column)} varchar_pattern_ops)"
                )

    return migrations.RunPython(drop, create)
