"""Concurrent appends from several OS processes keep one chain without forks or gaps (PostgreSQL).

Each of 4 spawned processes runs its own Django against the test database and makes 500 real HTTP
requests through Django's test Client to the token endpoint, each audited (``auth.token.grant``)
in the same transaction as its effect. The requests are real requests through the whole stack;
only the socket is left out.
"""

from __future__ import annotations

import multiprocessing
from urllib.parse import quote

import pytest
from django.db import connection

from audit.models import AuditEvent, ChainHead
from audit.services import audit_verify
from tests.conftest import TEST_BASE_URL, TEST_MASTER_KEY

from .concurrent_worker import token_requests

PROCESSES = 4
REQUESTS_EACH = 500

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL=postgres://..."),
]


def _database_url() -> str:
    """The test database (test_<name>) as a URL, for the children's django-environ settings."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = db.get("HOST") or ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_four_processes_append_2000_events_without_fork_or_gap(service_account_factory, token_for):
    _account, _key, credentials = service_account_factory(algorithm="ES256")
    token_for(credentials)  # creates the signing key once, before the children race for it
    before = AuditEvent.objects.count()

    env = {
        "DJANGO_SETTINGS_MODULE": "vaultstudio.settings",
        "DATABASE_URL": _database_url(),
        "VAULTSTUDIO_MASTER_KEY": TEST_MASTER_KEY,
        "VAULTSTUDIO_BASE_URL": TEST_BASE_URL,
        "DEBUG": "True",
        "LOG_LEVEL": "WARNING",
    }
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(PROCESSES) as pool:
        barrier = manager.Barrier(PROCESSES)  # all children start their requests at the same moment
        results = [
            pool.apply_async(token_requests, (env, credentials, REQUESTS_EACH, barrier)) for _ in range(PROCESSES)
        ]
        statuses = [result.get(timeout=300) for result in results]

    assert statuses == [{200: REQUESTS_EACH}] * PROCESSES
    total = before + PROCESSES * REQUESTS_EACH
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, total + 1))
    assert AuditEvent.objects.filter(action="auth.token.grant").count() == PROCESSES * REQUESTS_EACH + 1
    assert ChainHead.objects.get(id=1).seq == total
    result = audit_verify()
    assert result.valid, result
    assert result.checked == total
