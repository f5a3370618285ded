"""The audit table on the real database: triggers refuse UPDATE and DELETE; with them lifted, a
tampered row is found by audit_verify() and by ``manage.py verify_audit`` at exactly its seq."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command, execute_from_command_line
from django.db import DatabaseError, connection, transaction

from audit.chain import GENESIS_HASH
from audit.models import AuditEvent
from audit.services import audit_verify

from .conftest import triggers_dropped

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_events(append_event) -> list[int]:
    base = AuditEvent.objects.count()
    seqs = [append_event(action=f"thing.n{i}", details={"i": i}).seq for i in range(5)]
    assert seqs == list(range(base + 1, base + 6))
    return seqs


def _raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'nothing.happened' WHERE seq = %s",
        "UPDATE audit_auditevent SET hash = prev_hash WHERE seq = %s",
        "DELETE FROM audit_auditevent WHERE seq = %s",
    ],
    ids=["update-content", "update-hash", "delete"],
)
def test_raw_update_and_delete_are_refused(five_events, statement):
    target = five_events[2]
    before = AuditEvent.objects.get(seq=target).as_dict()
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            _raw(statement, [target])
    assert AuditEvent.objects.get(seq=target).as_dict() == before
    assert audit_verify().valid


def test_orm_bulk_update_and_delete_are_refused(five_events):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq__in=five_events).update(actor_display="nobody")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=five_events[0]).delete()
    assert AuditEvent.objects.filter(seq__in=five_events).count() == 5


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
def test_truncate_is_refused_on_postgresql(five_events):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _raw("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() >= 5


def test_triggers_are_back_after_a_tamper_test(five_events):
    with triggers_dropped():
        _raw("UPDATE audit_auditevent SET ip = '10.0.0.1' WHERE seq = %s", [five_events[0]])
    with pytest.raises(DatabaseError), transaction.atomic():
        _raw("UPDATE audit_auditevent SET ip = '10.0.0.2' WHERE seq = %s", [five_events[0]])


@pytest.fixture
def run_verify_audit(monkeypatch):
    """Run the command as ``manage.py verify_audit`` does; return its exit status.

    run_from_argv closes every connection when the command ends, which would end the test's own
    transaction on PostgreSQL; here the test's connection is kept.
    """
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)

    def run(*args: str) -> int:
        try:
            execute_from_command_line(["manage.py", "verify_audit", *args])
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    return run


def test_verify_audit_command_on_an_intact_chain(five_events, capsys, run_verify_audit):
    assert run_verify_audit() == 0
    out = capsys.readouterr().out
    assert "Audit chain intact" in out and f"{five_events[-1]} events verified" in out
    assert run_verify_audit("--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "valid": True,
        "checked": five_events[-1],
        "first_bad_seq": None,
        "reason": "",
    }


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "nothing.happened"),
        ("details", '{"i":99}'),
        ("actor_display", "someone else"),
        ("record_count", 7),
        ("ts", 0),
    ],
)
def test_a_changed_row_is_reported_at_its_seq(five_events, capsys, run_verify_audit, column, value):
    target = five_events[2]
    with triggers_dropped():
        _raw(f"UPDATE audit_auditevent SET {column} = %s WHERE seq = %s", [value, target])
        result = audit_verify()
        assert not result.valid
        assert result.first_bad_seq == target
        assert result.checked == target - 1
        assert result.reason == f"seq {target}: content does not match its hash"

        assert run_verify_audit() == 1
        err = capsys.readouterr().err
        assert f"BROKEN at seq {target}" in err
        assert run_verify_audit("--json") == 1
        assert json.loads(capsys.readouterr().out)["first_bad_seq"] == target


def test_call_command_raises_with_exit_status_one(five_events):
    from django.core.management.base import CommandError

    with triggers_dropped():
        _raw("UPDATE audit_auditevent SET http_status = 200 WHERE seq = %s", [five_events[1]])
        with pytest.raises(CommandError, match=f"seq {five_events[1]}") as caught:
            call_command("verify_audit")
    assert caught.value.returncode == 1


def test_a_deleted_row_is_a_gap(five_events):
    target = five_events[1]
    with triggers_dropped():
        _raw("DELETE FROM audit_auditevent WHERE seq = %s", [target])
        result = audit_verify()
    assert (result.valid, result.first_bad_seq, result.reason) == (False, target, f"seq {target} is missing")


def test_events_cut_off_the_end_are_caught_by_the_chain_head(five_events):
    with triggers_dropped():
        _raw("DELETE FROM audit_auditevent WHERE seq >= %s", [five_events[3]])
        result = audit_verify()
    assert not result.valid and result.first_bad_seq == five_events[3]
    assert "chain head" in result.reason


def test_a_rewritten_link_is_caught(five_events):
    target = five_events[3]
    with triggers_dropped():
        _raw("UPDATE audit_auditevent SET prev_hash = %s WHERE seq = %s", [GENESIS_HASH, target])
        result = audit_verify()
    assert not result.valid and result.first_bad_seq == target and "prev_hash" in result.reason
