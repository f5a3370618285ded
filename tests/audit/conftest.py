"""Fixtures of the audit tests: an auditor's API client, events to query, and database tricks
(tampering with a row, making the audit table refuse inserts) that clean up after themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.context import RequestMeta, current_request
from audit.db import drop_append_only_triggers, install_append_only_triggers
from audit.services import Appended, audit_append


@pytest.fixture
def auditor(service_account_factory, token_for) -> tuple[APIClient, Any]:
    """An API client holding a token of a service account with the AUDITOR role."""
    account, _key, credentials = service_account_factory(roles=("AUDITOR",), algorithm="ES256")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(credentials)}")
    return client, account


@pytest.fixture
def auditor_api(auditor) -> APIClient:
    return auditor[0]


@pytest.fixture
def append_event() -> Callable[..., Appended]:
    """Append one event; ``request=`` sets the HTTP request it belongs to."""

    def append(
        *, actor: Actor | None = None, action: str = "thing.create", request: RequestMeta | None = None, **fields: Any
    ) -> Appended:
        token = current_request.set(request) if request is not None else None
        try:
            return audit_append(actor=actor or Actor.cli("pytest"), action=action, **fields)
        finally:
            if token is not None:
                current_request.reset(token)

    return append


@contextmanager
def triggers_dropped() -> Iterator[None]:
    """Lift the append-only guard (as only the table owner could) and always put it back."""
    drop_append_only_triggers(connection)
    try:
        yield
    finally:
        install_append_only_triggers(connection)


_SQLITE_REFUSE = [
    """CREATE TRIGGER audit_test_refuse_insert BEFORE INSERT ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit store unavailable (test)'); END""",
]
_SQLITE_ALLOW = ["DROP TRIGGER IF EXISTS audit_test_refuse_insert"]
_PG_REFUSE = [
    """CREATE OR REPLACE FUNCTION audit_test_refuse_insert() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit store unavailable (test)'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_test_refuse_insert BEFORE INSERT ON audit_auditevent
       FOR EACH ROW EXECUTE FUNCTION audit_test_refuse_insert()""",
]
_PG_ALLOW = [
    "DROP TRIGGER IF EXISTS audit_test_refuse_insert ON audit_auditevent",
    "DROP FUNCTION IF EXISTS audit_test_refuse_insert()",
]


@contextmanager
def audit_store_refuses_inserts() -> Iterator[None]:
    """Make every INSERT into the audit table fail, as a full disk or a lost grant would."""
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for statement in _PG_REFUSE if postgres else _SQLITE_REFUSE:
            cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in _PG_ALLOW if postgres else _SQLITE_ALLOW:
                cursor.execute(statement)
