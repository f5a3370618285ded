"""A data-plane read's audit event is written while its values are opened (``audit.services.appending``).

On PostgreSQL outside a transaction the append is sent before decryption and awaited after it;
these tests run without the per-test transaction so that path is the one taken (on SQLite the event
is appended at once, with the same outcome). What must hold either way: the answer carries data
only once its event is durable; a failed append answers 500 with no data; a value that fails its
integrity check leaves the read's event and then the integrity event, under one request id; and the
connection is usable afterwards, whatever failed.
"""

from __future__ import annotations

import pytest
from django.db import connection

from audit import services as audit_services
from audit.actors import Actor
from audit.db import drop_append_only_triggers, install_append_only_triggers
from audit.models import AuditEvent, ChainHead
from audit.services import appending, audit_verify, event_fields
from tests.audit.conftest import audit_store_refuses_inserts

from .test_data_plane import ADA, ALL_PLAIN, WRITE, answering_errors, insert, two_with_swapped_ssns

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRES = "postgresql"


@pytest.fixture
def sent(monkeypatch):
    """Whether each append of the test went out ahead of the caller's work (True) or at once (False)."""
    calls: list[bool] = []
    original = audit_services.Appending._send

    def spy(self):
        calls.append(original(self))
        return calls[-1]

    monkeypatch.setattr(audit_services.Appending, "_send", spy)
    return calls


def _people(client, vault, n=3):
    rows = [{**ADA, "email": f"p{i}@example.com", "ssn": f"123-45-{6000 + i}"} for i in range(n)]
    response = insert(client, vault, *rows)
    assert response.status_code == 200, response.content
    return [r["skyflow_id"] for r in response.json()["records"]]


def _connection_works():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1


def test_the_read_event_names_what_was_answered_and_the_chain_holds(persons_vault, caller_with, sent):
    client = caller_with(persons_vault, ALL_PLAIN, WRITE)
    ids = _people(client, persons_vault)
    response = client.get(f"/v1/vaults/{persons_vault.id}/persons", {"redaction": "PLAIN_TEXT"})
    assert response.status_code == 200
    answered = [r["fields"]["skyflow_id"] for r in response.json()["records"]]
    assert sorted(answered) == sorted(ids)
    assert {r["fields"]["name"] for r in response.json()["records"]} == {"Ada Lovelace"}
    # The read's append is the last one made, and on PostgreSQL it overlapped the decryption.
    assert sent[-1] is (connection.vendor == POSTGRES)
    event = AuditEvent.objects.order_by("-seq").first().as_dict()
    assert event["action"] == "record.read" and event["decision"] == "ALLOW"
    assert event["record_count"] == 3 and event["resource"]["ids"] == answered
    assert event["request"]["id"] == response["X-Request-Id"]
    _connection_works()
    result = audit_verify()
    assert result.valid, result


def test_a_failed_append_answers_500_with_no_data_and_leaves_the_connection_usable(persons_vault, caller_with, sent):
    client = caller_with(persons_vault, ALL_PLAIN, WRITE)
    _people(client, persons_vault)
    quiet = answering_errors(client)
    before = AuditEvent.objects.count()
    with audit_store_refuses_inserts():
        response = quiet.get(f"/v1/vaults/{persons_vault.id}/persons", {"redaction": "PLAIN_TEXT"})
    assert response.status_code == 500
    assert set(response.json()) == {"error"}
    assert "Ada" not in response.content.decode() and "example.com" not in response.content.decode()
    assert sent[-1] is (connection.vendor == POSTGRES)
    assert AuditEvent.objects.count() == before
    _connection_works()
    again = client.get(f"/v1/vaults/{persons_vault.id}/persons", {"redaction": "PLAIN_TEXT"})
    assert again.status_code == 200 and len(again.json()["records"]) == 3
    assert audit_verify().valid


def test_an_integrity_failure_follows_the_read_event_under_the_same_request(persons_vault, caller_with, sent):
    client = caller_with(persons_vault, ALL_PLAIN, WRITE)
    a, b = two_with_swapped_ssns(client, persons_vault)
    quiet = answering_errors(client)
    response = quiet.get(f"/v1/vaults/{persons_vault.id}/persons", {"redaction": "PLAIN_TEXT"})
    assert response.status_code == 500 and "integrity" in response.json()["error"]["message"]
    assert "Ada" not in response.content.decode() and "example.com" not in response.content.decode()
    request_id = response["X-Request-Id"]
    events = [e.as_dict() for e in AuditEvent.objects.filter(request_id=request_id).order_by("seq")]
    assert [e["action"] for e in events] == ["record.read", "record.integrity_error"]
    assert events[1]["resource"]["ids"][0] in (a, b) and events[1]["decision"] == "DENY"
    _connection_works()
    assert audit_verify().valid


def test_the_block_error_wins_and_its_event_is_still_appended():
    actor = Actor.cli("pytest")
    before = AuditEvent.objects.count()
    with pytest.raises(ZeroDivisionError):
        with appending(event_fields(actor=actor, action="test.overlap")) as handle:
            1 / 0  # noqa: B018 - the caller's own failure while the append is in flight
    assert handle.appended is not None
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.get(seq=handle.appended.seq).action == "test.overlap"
    _connection_works()
    assert audit_verify().valid


def test_an_overlapped_append_creates_a_missing_head_row():
    actor = Actor.cli("pytest")
    first = audit_services.audit_append(actor=actor, action="test.first")
    drop_append_only_triggers(connection)
    try:
        ChainHead.objects.all().delete()
    finally:
        install_append_only_triggers(connection)
    with appending(event_fields(actor=actor, action="test.after-head-lost")) as handle:
        pass
    assert handle.appended.seq == first.seq + 1
    assert ChainHead.objects.get().seq == first.seq + 1
    assert audit_verify().valid


def test_a_large_event_is_sent_whole(sent):
    """An event larger than the socket takes at once (8 MB here: the send waits for room, then completes)."""
    import uuid

    actor = Actor.cli("pytest")
    ids = [str(uuid.uuid4()) for _ in range(1000)]
    big = {"note": "x" * 8_000_000}
    with appending(event_fields(actor=actor, action="test.large", resource_ids=ids, details=big)) as handle:
        pass
    assert sent[-1] is (connection.vendor == POSTGRES)
    stored = AuditEvent.objects.get(seq=handle.appended.seq).as_dict()
    assert stored["resource"]["ids"] == ids and stored["details"] == big
    assert audit_verify().valid
