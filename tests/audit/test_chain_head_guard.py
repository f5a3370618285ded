"""The chain head only moves forward, one append at a time: nobody can cut events off the end."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.actors import Actor
from audit.services import audit_append, audit_verify

pytestmark = pytest.mark.django_db


def _append(n: int) -> None:
    for i in range(n):
        audit_append(actor=Actor.cli("pytest"), action=f"test.event.{i}")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_chainhead SET seq = seq - 1",
        "UPDATE audit_chainhead SET seq = seq + 2",
        "UPDATE audit_chainhead SET seq = 0",
        "UPDATE audit_chainhead SET id = 2",
        "DELETE FROM audit_chainhead",
    ],
)
def test_moving_the_head_back_or_deleting_it_is_refused(statement):
    _append(3)
    with pytest.raises(DatabaseError, match="only moves forward"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    assert audit_verify().valid


def test_appends_still_move_the_head():
    _append(5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq FROM audit_chainhead WHERE id = 1")
        assert cursor.fetchone()[0] >= 5
    assert audit_verify().valid


def test_a_rewritten_head_hash_is_reported():
    _append(3)
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq FROM audit_chainhead WHERE id = 1")
        seq = cursor.fetchone()[0]
        cursor.execute("UPDATE audit_chainhead SET hash = %s", ["f" * 64])
    result = audit_verify()
    assert not result.valid and result.first_bad_seq == seq
