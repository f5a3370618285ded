"""Fail closed (DESIGN.md §3.3): when the audit event cannot be written, the change it records is
rolled back and an HTTP request answers 500 with the error envelope and no data."""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import ServiceAccount, ServiceAccountKey
from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import audit_verify
from tests.conftest import make_assertion

from .conftest import audit_store_refuses_inserts

pytestmark = pytest.mark.django_db


def test_an_audited_service_call_fails_and_leaves_no_row():
    events_before = AuditEvent.objects.count()
    with audit_store_refuses_inserts():
        # A database error, never disguised as a 409 "name already exists" (SQLite reports the
        # trigger's ABORT as an IntegrityError; only the save itself may become a Conflict).
        with pytest.raises(DatabaseError):
            account_services.service_account_create(actor=Actor.cli("pytest"), name="never-created")
    assert not ServiceAccount.objects.filter(name="never-created").exists()
    assert AuditEvent.objects.count() == events_before
    # The failed append left no hole: the next one continues the chain.
    account_services.service_account_create(actor=Actor.cli("pytest"), name="created-later")
    result = audit_verify()
    assert result.valid and result.checked == events_before + 1


def _token_request(client: APIClient, credentials: dict[str, str]):
    payload = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": make_assertion(credentials)}
    return client.post("/v1/auth/sa/oauth/token", data=json.dumps(payload), content_type="application/json")


def test_an_audited_http_request_answers_500_without_data(service_account_factory):
    account, key, credentials = service_account_factory(algorithm="ES256")
    events_before = AuditEvent.objects.count()
    # The middleware answers for the exception; don't let the test client re-raise it instead.
    client = APIClient(raise_request_exception=False)
    with audit_store_refuses_inserts():
        response = _token_request(client, credentials)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["http_code"] == 500 and body["error"]["grpc_code"] == 13
    assert "accessToken" not in response.content.decode()
    assert response["X-Request-Id"] in body["error"]["message"]
    # The grant's other write (the key's last use) went back with the missing audit event.
    assert ServiceAccountKey.objects.get(pk=key.pk).last_used_at is None
    assert AuditEvent.objects.count() == events_before

    # With the audit store back, the same account gets its token and the chain has no gap.
    response = _token_request(client, credentials)
    assert response.status_code == 200 and response.json()["accessToken"]
    assert audit_verify().valid


def test_an_export_is_not_streamed_when_it_cannot_be_audited(auditor_api):
    client = auditor_api
    client.raise_request_exception = False
    with audit_store_refuses_inserts():
        response = client.get("/api/v1/audit/export", {"format": "ndjson"})
    assert response.status_code == 500
    assert not response.streaming
    assert response.json()["error"]["http_code"] == 500
