"""insert_many writes exactly what the ORM would have written, on either database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from vaults.models import BlindIndex, Column, Record, Table, Token
from vaults.schema import parse_schema
from vaults.services import vault_create
from vaultstudio.db import insert_many

pytestmark = pytest.mark.django_db


def test_rows_read_back_as_written(actor):
    vault = vault_create(
        actor=actor,
        name="db",
        schema=parse_schema({"tables": [{"name": "t", "columns": [{"name": "c", "searchable": True}]}]}),
    )
    table = Table.objects.get(vault=vault)
    column = Column.objects.get(table=table)
    now = timezone.now()
    records = [
        Record(
            table=table,
            data={"c": "v1:abc", "n": i, "nested": {"ü": [1, None, True]}},
            created_at=now,
            updated_at=now,
            created_by="me",
        )
        for i in range(3)
    ]
    insert_many(
        Record,
        ["id", "table", "data", "created_at", "updated_at", "created_by"],
        [(r.id, r.table_id, r.data, r.created_at, r.updated_at, r.created_by) for r in records],
    )
    insert_many(BlindIndex, ["column", "record", "digest", "is_unique"], [(column.pk, records[0].pk, "d" * 64, True)])
    insert_many(
        Token,
        [
            "token",
            "vault",
            "column",
            "record",
            "column_group",
            "value_sealed",
            "expires_at",
            "created_at",
        ],
        [(str(uuid.uuid4()), vault.pk, column.pk, records[1].pk, "g", "", now + timedelta(minutes=5), now)],
    )
    for written in records:
        stored = Record.objects.get(pk=written.pk)
        assert stored.data == written.data and stored.created_at == now and stored.table_id == table.pk
    assert BlindIndex.objects.get(record=records[0]).digest == "d" * 64
    token = Token.objects.get(record=records[1])
    assert token.expires_at == now + timedelta(minutes=5) and token.vault_id == vault.pk
    assert Record.objects.filter(data__nested__ü__0=1).count() == 3


def test_nothing_to_insert_is_fine():
    insert_many(Record, ["id"], [])
