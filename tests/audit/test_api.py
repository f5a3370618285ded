"""The management audit API: /api/v1/audit/events, /export and /verify."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import User
from audit import selectors
from audit.actors import Actor
from audit.models import AuditEvent
from audit.selectors import EventFilter, iter_events
from audit.services import CHAIN_BROKEN_CACHE_KEY
from tests.studio_support import login_client

from .conftest import triggers_dropped

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/v1/audit/events", {}),
    ("get", "/api/v1/audit/export", {"format": "ndjson"}),
    ("post", "/api/v1/audit/verify", {}),
    ("get", "/v1/audit/events", {"filterOps.accountID": "acc"}),
]


def _call(client: APIClient, method: str, path: str, params: dict):
    if method == "get":
        return client.get(path, params)
    return client.post(path, params, format="json")


@pytest.fixture
def client_for(service_account_factory, token_for, auditor_api):
    """The API client of one kind of caller (only that one is made: keys and tokens cost time)."""

    def with_roles(*roles: str) -> APIClient:
        _account, _key, credentials = service_account_factory(roles=roles, algorithm="ES256")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(credentials)}")
        return client

    def bad_token() -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        return client

    def superuser() -> APIClient:
        client = APIClient()
        # A studio session that has passed MFA: a password-only one is refused (tests/accounts).
        login_client(client, User.objects.create_superuser("root@example.com"))
        return client

    makers = {
        "no token": APIClient,
        "bad token": bad_token,
        "no role": with_roles,
        "ACCOUNT_ADMIN": lambda: with_roles("ACCOUNT_ADMIN"),
        "AUDITOR": lambda: auditor_api,
        "superuser session": superuser,
    }
    return lambda who: makers[who]()


@pytest.mark.parametrize(("method", "path", "params"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("no token", 401),
        ("bad token", 401),
        ("no role", 403),
        ("ACCOUNT_ADMIN", 403),
        ("AUDITOR", 200),
        ("superuser session", 200),
    ],
)
def test_permission_matrix(client_for, method, path, params, who, status):
    response = _call(client_for(who), method, path, params)
    assert response.status_code == status
    if status != 200:
        assert response.json()["error"]["http_code"] == status
    if status == 403:
        assert "AUDITOR" in response.json()["error"]["message"]
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")


# --- GET /api/v1/audit/events ----------------------------------------------------------------------


@pytest.fixture
def sample(append_event) -> dict[str, int]:
    """A few events with distinct attributes; returns their seqs by name."""
    alice = Actor("USER", "u-1", "alice@example.com", "SESSION")
    bot = Actor("SERVICE_ACCOUNT", "c-9", "etl-bot", "SERVICE_ACCOUNT_JWT")
    return {
        "alice_read": append_event(
            actor=alice,
            action="record.read",
            resource_type="RECORD",
            resource_ids=["Rec-1", "rec-2"],
            vault_id="v1",
            table="persons",
        ).seq,
        "bot_insert": append_event(
            actor=bot, action="record.insert", resource_type="RECORD", resource_ids=["rec-3"], vault_id="v2"
        ).seq,
        "bot_token": append_event(
            actor=bot, action="auth.token.grant", resource_type="SERVICE_ACCOUNT", resource_ids=["c-9"]
        ).seq,
        "alice_policy": append_event(
            actor=alice,
            action="policy.update",
            resource_type="POLICY",
            resource_ids=['odd"id', "rec-1x"],
            vault_id="v1",
        ).seq,
    }


def _seqs(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [event["seq"] for event in response.json()["events"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actor": "u-1"}, ["alice_read", "alice_policy"]),
        ({"actor": "etl-bot"}, ["bot_insert", "bot_token"]),
        ({"actor": "ETL-BOT"}, []),
        ({"action": "record.read"}, ["alice_read"]),
        ({"action": "record.*"}, ["alice_read", "bot_insert"]),
        ({"action": "record"}, []),
        ({"resource_type": "RECORD"}, ["alice_read", "bot_insert"]),
        ({"resource_id": "rec-2"}, ["alice_read"]),
        ({"resource_id": "rec-1"}, []),  # not "Rec-1" (case) nor "rec-1x" (prefix)
        ({"resource_id": "Rec-1"}, ["alice_read"]),
        ({"resource_id": 'odd"id'}, ["alice_policy"]),
        ({"resource_id": "odd"}, []),
        ({"vault": "v1"}, ["alice_read", "alice_policy"]),
        ({"vault": "v1", "actor": "alice@example.com", "action": "policy.*"}, ["alice_policy"]),
    ],
)
def test_filters(auditor_api, sample, params, expected):
    after = sample["alice_read"] - 1
    response = auditor_api.get("/api/v1/audit/events", {**params, "after": after})
    assert _seqs(response) == [sample[name] for name in expected]


def test_events_are_as_dict(auditor_api, sample):
    response = auditor_api.get("/api/v1/audit/events", {"after": sample["alice_read"] - 1, "limit": 1})
    body = response.json()
    assert body["events"] == [AuditEvent.objects.get(seq=sample["alice_read"]).as_dict()]
    assert body["next_cursor"] == sample["alice_read"]


def test_since_and_until(auditor_api, sample):
    second = AuditEvent.objects.get(seq=sample["bot_insert"])
    third = AuditEvent.objects.get(seq=sample["bot_token"])
    since = second.timestamp.isoformat()
    until = (third.timestamp + timedelta(microseconds=1)).isoformat().replace("+00:00", "Z")
    response = auditor_api.get("/api/v1/audit/events", {"since": since, "until": until})
    assert _seqs(response) == [sample["bot_insert"], sample["bot_token"]]
    # naive means UTC
    naive = second.timestamp.replace(tzinfo=None).isoformat()
    response = auditor_api.get("/api/v1/audit/events", {"since": naive, "until": until})
    assert _seqs(response) == [sample["bot_insert"], sample["bot_token"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2025-13-01T00:00:00Z"}, "until"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"after": "-1"}, "after"),
        ({"after": "x"}, "after"),
    ],
)
def test_bad_parameters_are_400_naming_them(auditor_api, params, field):
    response = auditor_api.get("/api/v1/audit/events", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["http_code"] == 400 and error["grpc_code"] == 3
    assert error["message"].startswith(f"Invalid request: {field}:")
    assert error["details"][0]["field"] == field


def test_limit_defaults_to_100_and_is_capped_at_1000(auditor_api, append_event):
    for i in range(1005 - AuditEvent.objects.count()):
        append_event(action="bulk.create", details={"i": i})
    body = auditor_api.get("/api/v1/audit/events").json()
    assert len(body["events"]) == 100 and body["next_cursor"] == 100
    body = auditor_api.get("/api/v1/audit/events", {"limit": 5000}).json()
    assert len(body["events"]) == 1000 and body["next_cursor"] == 1000


def test_cursor_paging_visits_every_event_once(auditor_api, append_event):
    for i in range(23):
        append_event(action="page.create", details={"i": i})
    expected = list(AuditEvent.objects.filter(action="page.create").values_list("seq", flat=True))
    seen, cursor, pages = [], 0, 0
    while cursor is not None:
        body = auditor_api.get("/api/v1/audit/events", {"action": "page.create", "limit": 5, "after": cursor}).json()
        seen += [event["seq"] for event in body["events"]]
        cursor = body["next_cursor"]
        pages += 1
    assert seen == expected and pages == 5


def test_list_costs_a_fixed_number_of_queries(auditor_api, append_event, django_assert_max_num_queries):
    for i in range(150):
        append_event(action="many.create", resource_ids=[f"r{i}"], details={"i": i})
    auditor_api.get("/api/v1/audit/events", {"limit": 1})  # warm the per-process caches
    # authentication (1), the caller's roles (1), the page (1), whatever the page size
    with django_assert_max_num_queries(3):
        body = auditor_api.get("/api/v1/audit/events", {"limit": 150}).json()
    assert len(body["events"]) == 150


# --- GET /api/v1/audit/export ---------------------------------------------------------------------


def _ndjson(response) -> list[dict]:
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_export_streams_one_event_per_line_and_records_itself(auditor, sample):
    client, account = auditor
    response = client.get("/api/v1/audit/export", {"format": "ndjson"})
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].startswith('attachment; filename="vaultstudio-audit-')
    assert response["X-Request-Id"]
    lines = _ndjson(response)
    events = list(AuditEvent.objects.order_by("seq"))
    assert lines == [event.as_dict() for event in events]
    last = events[-1]
    assert last.action == "audit.export"
    assert last.actor_id == str(account.client_id)
    assert json.loads(last.details) == {"format": "ndjson", "filters": {}, "after": 0}
    assert last.request_id == response["X-Request-Id"]


def test_export_applies_the_filters(auditor_api, sample):
    response = auditor_api.get(
        "/api/v1/audit/export", {"format": "ndjson", "actor": "etl-bot", "since": "2000-01-01T00:00:00Z"}
    )
    assert [line["seq"] for line in _ndjson(response)] == [sample["bot_insert"], sample["bot_token"]]
    recorded = AuditEvent.objects.filter(action="audit.export").latest("seq")
    assert json.loads(recorded.details)["filters"] == {"actor": "etl-bot", "since": "2000-01-01T00:00:00+00:00"}


def test_export_resumes_after_a_seq(auditor_api, sample):
    lines = _ndjson(auditor_api.get("/api/v1/audit/export", {"format": "ndjson", "after": sample["bot_token"]}))
    assert [line["action"] for line in lines] == ["policy.update", "audit.export"]


@pytest.mark.parametrize("params", [{"format": "csv"}, {}, {"format": "ndjson", "since": "soon"}])
def test_export_refuses_other_formats(auditor_api, params):
    before = AuditEvent.objects.count()
    response = auditor_api.get("/api/v1/audit/export", params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["details"][0]["field"] in ("format", "since")
    assert AuditEvent.objects.count() == before  # nothing exported, nothing recorded


def test_export_reads_in_keyset_pages(append_event, django_assert_num_queries):
    for i in range(12):
        append_event(action="paged.create", details={"i": i})
    pages = iter_events(EventFilter(action="paged.create"), page=5)
    with django_assert_num_queries(3):  # 5 + 5 + 2: one query per page, never the whole table
        sizes = [len(rows) for rows in pages]
    assert sizes == [5, 5, 2]
    # A full last page needs one more (empty) query to know it was the last.
    assert [len(r) for r in iter_events(EventFilter(action="paged.create"), page=6)] == [6, 6]
    # `upto` pins the end
    all_seqs = [e.seq for rows in iter_events(EventFilter(action="paged.create")) for e in rows]
    upto = [e.seq for rows in iter_events(EventFilter(action="paged.create"), upto=all_seqs[3]) for e in rows]
    assert upto == all_seqs[:4]
    assert selectors.EXPORT_PAGE >= 100


# --- POST /api/v1/audit/verify ---------------------------------------------------------------------


def test_verify_reports_an_intact_chain_and_is_audited(auditor, sample):
    client, account = auditor
    before = AuditEvent.objects.count()
    response = client.post("/api/v1/audit/verify")
    assert response.status_code == 200
    assert response.json() == {"valid": True, "checked": before, "first_bad_seq": None, "reason": ""}
    recorded = AuditEvent.objects.latest("seq")
    assert recorded.action == "audit.verify" and recorded.actor_id == str(account.client_id)
    assert json.loads(recorded.details) == response.json()
    assert AuditEvent.objects.filter(action="audit.chain.broken").count() == 0


def test_verify_reports_the_first_bad_seq_and_raises_the_alert(auditor_api, sample):
    from django.db import connection

    cache.delete(CHAIN_BROKEN_CACHE_KEY)
    target = sample["bot_insert"]
    with triggers_dropped():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET vault_id = 'v9' WHERE seq = %s", [target])
        response = auditor_api.post("/api/v1/audit/verify")
    body = response.json()
    assert body["valid"] is False and body["first_bad_seq"] == target and body["checked"] == target - 1
    assert "content does not match" in body["reason"]
    actions = list(AuditEvent.objects.order_by("-seq").values_list("action", flat=True)[:2])
    assert actions == ["audit.chain.broken", "audit.verify"]
    assert json.loads(AuditEvent.objects.get(action="audit.verify").details)["first_bad_seq"] == target
    assert cache.get(CHAIN_BROKEN_CACHE_KEY) == body


def test_openapi_schema_documents_the_audit_endpoints(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    schema = response.content.decode()
    for needle in (
        "/api/v1/audit/events:",
        "/api/v1/audit/export:",
        "/api/v1/audit/verify:",
        "/v1/audit/events:",
        "operationId: AuditService_ListAuditEvents",
        "name: filterOps.accountID",
        "application/x-ndjson",
        "next_cursor",
        "first_bad_seq",
        "nextOps",
    ):
        assert needle in schema, needle
