"""A refusal's audit event outlives the rollback of the work it refused.

A batch runs its operations in one transaction (all or nothing), or each in its own with
``continueOnError``; a refusal rolls that transaction back, and an event appended inside it would go
too, leaving no trace of the refused attempt. The refusal's event travels on the error instead
(``audit.services.append_refusal``) and is written once the transaction is over.
"""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from audit.services import audit_verify
from vaults.models import Record

from .test_data_plane import ADA, ALL_PLAIN, WRITE, answering_errors, insert, two_with_swapped_ssns

pytestmark = pytest.mark.django_db(transaction=True)

CREATE_ONLY = "ALLOW CREATE ON persons.*"


def _events(response):
    return list(
        AuditEvent.objects.filter(request_id=response["X-Request-Id"]).order_by("seq").values_list("action", "decision")
    )


def _batch(client, vault, *, continue_on_error=None, idempotency_key=None):
    body = {
        "records": [
            {"tableName": "persons", "fields": ADA, "method": "POST"},
            {"tableName": "persons", "method": "GET", "ID": "00000000-0000-4000-8000-000000000001"},
        ],
        "byot": "DISABLE",
    }
    if continue_on_error is not None:
        body["continueOnError"] = continue_on_error
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    return client.post(f"/v1/vaults/{vault.id}", body, format="json", **headers)


def test_a_refused_operation_in_an_all_or_nothing_batch_stays_on_record(persons_vault, caller_with):
    client = caller_with(persons_vault, CREATE_ONLY)
    response = _batch(client, persons_vault)
    assert response.status_code == 404, response.content  # not allowed to read it: no such record
    assert not Record.objects.exists()  # the insert went back with the batch
    # The insert's own event went back with it; the refusal did not.
    assert _events(response) == [("record.read", "DENY")]
    assert audit_verify().valid


@pytest.mark.parametrize("idempotency_key", [None, "key-1"])
def test_a_refused_operation_with_continue_on_error_stays_on_record(persons_vault, caller_with, idempotency_key):
    client = caller_with(persons_vault, CREATE_ONLY)
    response = _batch(client, persons_vault, continue_on_error=True, idempotency_key=idempotency_key)
    assert response.status_code == 200, response.content
    statuses = [item["Status"] for item in response.json()["responses"]]
    assert statuses == [200, 404]
    assert Record.objects.count() == 1
    assert _events(response) == [("record.insert", "ALLOW"), ("record.read", "DENY")]
    assert audit_verify().valid


def test_an_integrity_failure_inside_a_batch_stays_on_record(persons_vault, caller_with):
    client = caller_with(persons_vault, ALL_PLAIN, WRITE)
    a, _ = two_with_swapped_ssns(client, persons_vault)
    quiet = answering_errors(client)
    body = {"records": [{"tableName": "persons", "method": "GET", "ID": a, "redaction": "PLAIN_TEXT"}]}
    response = quiet.post(f"/v1/vaults/{persons_vault.id}", body, format="json")
    assert response.status_code == 500 and "integrity" in response.json()["error"]["message"]
    assert ("record.integrity_error", "DENY") in _events(response)
    assert audit_verify().valid


def test_a_policy_refusal_after_an_allowed_read_in_a_batch_stays_on_record(persons_vault, caller_with):
    writer = caller_with(persons_vault, WRITE)
    sid = insert(writer, persons_vault, ADA).json()["records"][0]["skyflow_id"]
    reader = caller_with(persons_vault, ALL_PLAIN)
    body = {
        "records": [
            {"tableName": "persons", "method": "GET", "ID": sid},
            {"tableName": "persons", "method": "PUT", "ID": sid, "fields": {"name": "Mallory"}},
            {"tableName": "persons", "method": "POST", "fields": ADA},
        ]
    }
    response = reader.post(f"/v1/vaults/{persons_vault.id}", body, format="json")
    assert response.status_code == 404, response.content  # the update: not allowed, so no such record for it
    assert _events(response) == [("record.update", "DENY")]
    assert Record.objects.get(pk=sid).data["name"] != "Mallory" and Record.objects.count() == 1
    body["continueOnError"] = True
    response = reader.post(f"/v1/vaults/{persons_vault.id}", body, format="json")
    assert [item["Status"] for item in response.json()["responses"]] == [200, 404, 403]
    assert _events(response) == [("record.read", "ALLOW"), ("record.update", "DENY"), ("record.insert", "DENY")]
    assert audit_verify().valid


def test_a_refused_delete_in_a_batch_stays_on_record(persons_vault, caller_with):
    writer = caller_with(persons_vault, WRITE)
    sid = insert(writer, persons_vault, ADA).json()["records"][0]["skyflow_id"]
    creator = caller_with(persons_vault, CREATE_ONLY)
    body = {
        "records": [
            {"tableName": "persons", "method": "POST", "fields": {**ADA, "email": "new@example.com"}},
            {"tableName": "persons", "method": "DELETE", "ID": sid},
        ]
    }
    response = creator.post(f"/v1/vaults/{persons_vault.id}", body, format="json")
    assert response.status_code == 404, response.content
    assert _events(response) == [("record.delete", "DENY")]
    assert Record.objects.filter(pk=sid).exists() and Record.objects.count() == 1
