"""Helpers for the management API tests: the error envelope, the audit trail, a whole-database search."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection
from rest_framework.test import APIClient

ENVELOPE_KEYS = {"grpc_code", "http_code", "http_status", "message", "details"}


def client_with(token: str | None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def send(client: APIClient, method: str, path: str, body: Any = None) -> Any:
    """A JSON request (or a bodyless one when ``body`` is None)."""
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


def assert_error(response: Any, status: int, *fragments: str) -> dict[str, Any]:
    """The response is ``status`` with the JSON error envelope, and its message holds each fragment."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].split(";")[0] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == ENVELOPE_KEYS
    assert error["http_code"] == status
    assert isinstance(error["grpc_code"], int) and error["http_status"]
    for fragment in fragments:
        assert fragment in error["message"], error
    return error


def audit_actions(**filters: Any) -> list[str]:
    from audit.models import AuditEvent

    return list(AuditEvent.objects.filter(**filters).order_by("seq").values_list("action", flat=True))


def last_audit_event() -> Any:
    from audit.models import AuditEvent

    return AuditEvent.objects.order_by("-seq").first()


def database_contains(needle: str) -> list[str]:
    """Tables any of whose rows contain ``needle`` in any column (the "never stored" check)."""
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                if any(needle in _text(value) for value in row):
                    hits.append(table)
                    break
    return hits


def _text(value: Any) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)
