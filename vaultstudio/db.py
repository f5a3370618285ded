"""Small database helpers shared by the services."""

from __future__ import annotations

from django.db import IntegrityError, connection, models, transaction

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


def insert_many(model: type[models.Model], objects: list[models.Model], fields: list[str]) -> None:
    """INSERT many rows with one ``executemany``: what ``bulk_create`` does, without building its
    query per batch (that machinery costs more than the database on the data plane's insert path).

    Values go through each field's own ``get_db_prep_save`` (UUIDs, JSON, time zones per backend),
    as parameters. Defaults and auto_now fields must already be set on the objects.
    """
    if not objects:
        return
    meta = model._meta
    concrete = [meta.get_field(name) for name in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in concrete)
    placeholders = ", ".join(["%s"] * len(concrete))
    sql = f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) VALUES ({placeholders})"
    rows = [[f.get_db_prep_save(getattr(obj, f.attname), connection) for f in concrete] for obj in objects]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
