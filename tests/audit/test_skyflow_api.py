"""Skyflow's GET /v1/audit/events (SKYFLOW_WIRE.md §5): shape, filterOps, sortOps, afterOps, and
Skyflow's own generated v2 client reading it."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from audit import selectors
from audit.actors import Actor
from audit.context import RequestMeta
from audit.models import AuditEvent
from audit.selectors import action_type_of, action_type_q

pytestmark = pytest.mark.django_db

URL = "/v1/audit/events"
ALICE = Actor("USER", "u-1", "alice@example.com", "SESSION")
BOT = Actor("SERVICE_ACCOUNT", "c-9", "etl-bot", "SERVICE_ACCOUNT_JWT")


@pytest.fixture
def sample(append_event) -> dict[str, AuditEvent]:
    def http(request_id: str, method: str, path: str, ip: str = "203.0.113.7") -> RequestMeta:
        return RequestMeta(request_id=request_id, ip=ip, user_agent="ua", method=method, path=path)

    appended = {
        "insert": append_event(
            actor=BOT,
            action="record.insert",
            resource_type="RECORD",
            resource_ids=["r1", "r2"],
            vault_id="v1",
            table="persons",
            columns=["ssn"],
            record_count=2,
            decision="ALLOW",
            policy_ids=["p1"],
            http_status=200,
            request=http("req-1", "POST", "/v1/vaults/v1"),
            details={"upsert": False},
        ),
        "grant": append_event(
            actor=BOT,
            action="auth.token.grant",
            resource_type="SERVICE_ACCOUNT",
            resource_ids=["c-9"],
            http_status=200,
            request=http("req-2", "POST", "/v1/auth/sa/oauth/token", ip="198.51.100.1"),
        ),
        "binding": append_event(
            actor=ALICE,
            action="role.binding.delete",
            resource_type="ROLE_BINDING",
            resource_ids=["b1"],
            http_status=200,
            request=http("req-3", "DELETE", "/api/v1/roles/x/bindings/b1/"),
        ),
        "rotate": append_event(
            actor=Actor.system("key-rotation"),
            action="vault.key.rotate",
            resource_type="VAULT",
            resource_ids=["v2"],
            vault_id="v2",
        ),
        "denied": append_event(
            actor=ALICE,
            action="record.read",
            resource_type="RECORD",
            resource_ids=["r1"],
            vault_id="v1",
            decision="DENY",
            http_status=403,
            request=http("req-4", "GET", "/v1/vaults/v1/persons"),
        ),
    }
    return {name: AuditEvent.objects.get(seq=a.seq) for name, a in appended.items()}


def _get(client: APIClient, **params):
    query = {"filterOps.accountID": "any-account", **params}
    return client.get(f"{URL}?{urlencode(query)}")


def _names(response, sample) -> list[str]:
    assert response.status_code == 200, response.content
    by_id = {event.event_id: name for name, event in sample.items()}
    return [by_id[e["context"]["changeID"]] for e in response.json()["event"] if e["context"]["changeID"] in by_id]


def test_shape_of_an_event(auditor_api, sample):
    insert = sample["insert"]
    response = _get(auditor_api, **{"filterOps.context.changeID": insert.event_id})
    assert response["Content-Type"] == "application/json" and response["X-Request-Id"]
    body = response.json()
    assert set(body) == {"event", "nextOps"}
    [event] = body["event"]
    when = insert.timestamp.isoformat().replace("+00:00", "Z")
    assert event == {
        "context": {
            "changeID": insert.event_id,
            "requestID": "req-1",
            "traceID": "",
            "sessionID": "",
            "actor": "c-9",
            "actorType": "SERVICE_ACCOUNT",
            "accessType": "API",
            "ipAddress": "203.0.113.7",
            "origin": "",
            "authMode": "SERVICE_ACCOUNT_JWT",
            "jwtID": "",
            "bearerTokenContextID": "",
        },
        "request": {
            "data": {"content": json.dumps({"columns": ["ssn"], "details": {"upsert": False}, "table": "persons"})},
            "apiName": "record.insert",
            "workspaceID": "",
            "vaultID": "v1",
            "tags": [],
            "timestamp": when,
            "actionType": "CREATE",
            "resourceType": "RECORD",
            "httpInfo": {"URI": "/v1/vaults/v1", "method": "POST"},
        },
        "response": {
            "code": 200,
            "message": "",
            "data": {"content": json.dumps({"decision": "ALLOW", "policy_ids": ["p1"], "record_count": 2})},
            "timestamp": when,
        },
        "parentAccountID": "",
        "accountID": settings.VAULTSTUDIO_ACCOUNT_ID,
        "resourceIDs": ["RECORD/r1", "RECORD/r2", "VAULT/v1"],
    }
    assert body["nextOps"] == {"timestamp": when, "changeID": insert.event_id}


def test_a_system_event_has_no_http_side(auditor_api, sample):
    [event] = _get(auditor_api, **{"filterOps.apiName": "vault.key.rotate"}).json()["event"]
    assert event["context"]["actorType"] == "NONE" and event["context"]["actor"] == "key-rotation"
    assert event["context"]["accessType"] == "ACCESS_NONE"
    assert event["request"]["data"]["content"] == "" and event["response"]["data"]["content"] == ""
    assert event["response"]["code"] is None
    assert event["resourceIDs"] == ["VAULT/v2"]
    assert event["request"]["actionType"] == "ROTATE"


@pytest.mark.parametrize("params", [{}, {"filterOps.accountID": ""}])
def test_account_id_is_required(auditor_api, params):
    response = auditor_api.get(f"{URL}?{urlencode(params)}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["http_code"] == 400 and error["http_status"] == "Bad Request" and error["grpc_code"] == 3
    assert "filterOps.accountID" in error["message"]
    assert error["details"][0]["field"] == "filterOps.accountID"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"filterOps.context.actor": "c-9"}, ["insert", "grant"]),
        ({"filterOps.context.actor": "alice@example.com"}, ["binding", "denied"]),
        ({"filterOps.context.actorType": "USER"}, ["binding", "denied"]),
        ({"filterOps.context.actorType": "SERVICE_ACCOUNT"}, ["insert", "grant"]),
        ({"filterOps.context.actorType": "NONE"}, ["rotate"]),
        ({"filterOps.context.requestID": "req-3"}, ["binding"]),
        ({"filterOps.context.ipAddress": "198.51.100.1"}, ["grant"]),
        ({"filterOps.context.authMode": "SERVICE_ACCOUNT_JWT"}, ["insert", "grant"]),
        ({"filterOps.context.accessType": "API"}, ["insert", "grant", "binding", "denied"]),
        ({"filterOps.context.accessType": "ACCESS_NONE"}, ["rotate"]),
        ({"filterOps.context.accessType": "SQL"}, []),
        ({"filterOps.vaultID": "v1"}, ["insert", "denied"]),
        ({"filterOps.actionType": "CREATE"}, ["insert"]),
        ({"filterOps.actionType": "LOGIN"}, ["grant"]),
        ({"filterOps.actionType": "UNASSIGN"}, ["binding"]),
        ({"filterOps.actionType": "DELETE"}, []),
        ({"filterOps.actionType": "READ"}, ["denied"]),
        ({"filterOps.actionType": "ROTATE"}, ["rotate"]),
        ({"filterOps.resourceType": "RECORD"}, ["insert", "denied"]),
        ({"filterOps.resourceIDs": "RECORD/r2"}, ["insert"]),
        ({"filterOps.resourceIDs": "RECORD/r1, ROLE_BINDING/b1"}, ["insert", "binding", "denied"]),
        ({"filterOps.resourceIDs": "VAULT/v2"}, ["rotate"]),
        ({"filterOps.resourceIDs": "VAULT/v1"}, ["insert", "denied"]),
        ({"filterOps.resourceIDs": "b1"}, ["binding"]),
        ({"filterOps.resourceIDs": "ROLE/b1"}, []),
        ({"filterOps.httpMethod": "delete"}, ["binding"]),
        ({"filterOps.httpURI": "/v1/vaults/v1/persons"}, ["denied"]),
        ({"filterOps.responseCode": "403"}, ["denied"]),
        ({"filterOps.apiName": "auth.token.grant"}, ["grant"]),
        ({"filterOps.vaultID": "v1", "filterOps.context.actor": "c-9"}, ["insert"]),
        ({"filterOps.context.sessionID": "s-1"}, []),
        ({"filterOps.workspaceID": "w-1"}, []),
        ({"filterOps.tags": "login"}, []),
        ({"filterOps.vaultID": "", "filterOps.context.actor": "c-9"}, ["insert", "grant"]),  # empty = absent
    ],
)
def test_filter_ops(auditor_api, sample, params, expected):
    assert _names(_get(auditor_api, limit=1000, **params), sample) == expected


def test_start_and_end_time(auditor_api, sample):
    start = sample["grant"].timestamp.isoformat()
    end = (sample["binding"].timestamp + timedelta(microseconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")  # "SQL format"
    response = _get(auditor_api, **{"filterOps.startTime": start, "filterOps.endTime": end})
    assert [e["context"]["changeID"] for e in response.json()["event"]] == [
        sample["grant"].event_id,
        sample["binding"].event_id,
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sortOps.orderBy": "UP"}, "sortOps.orderBy"),
        ({"filterOps.responseCode": "ok"}, "filterOps.responseCode"),
        ({"filterOps.startTime": "noon"}, "filterOps.startTime"),
        ({"limit": "-1"}, "limit"),
        ({"offset": "x"}, "offset"),
        ({"afterOps.timestamp": "later"}, "afterOps.timestamp"),
        ({"afterOps.changeID": "no-such-event"}, "afterOps.changeID"),
    ],
)
def test_bad_values_are_400_naming_the_key(auditor_api, params, field):
    response = _get(auditor_api, **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["message"] and error["details"][0]["field"] == field


def test_descending_order_limit_and_offset(auditor_api, sample):
    order = ["denied", "rotate", "binding", "grant", "insert"]
    response = _get(auditor_api, **{"sortOps.sortBy": "timestamp", "sortOps.orderBy": "DESCENDING"}, limit=5)
    assert _names(response, sample) == order
    response = _get(auditor_api, **{"sortOps.orderBy": "DESCENDING"}, limit=2, offset=1)
    assert _names(response, sample) == order[1:3]


def test_default_page_size_is_25(auditor_api, append_event):
    for i in range(30):
        append_event(action="bulk.create", details={"i": i})
    assert len(_get(auditor_api).json()["event"]) == 25


@pytest.mark.parametrize("order", ["ASCENDING", "DESCENDING"])
def test_after_ops_pages_through_everything_once(auditor_api, sample, append_event, order):
    for i in range(7):
        append_event(action="page.update", details={"i": i})
    expected = [e.event_id for e in AuditEvent.objects.order_by("seq" if order == "ASCENDING" else "-seq")]
    seen: list[str] = []
    after: dict[str, str] = {}
    while True:
        response = _get(auditor_api, limit=4, **{"sortOps.orderBy": order}, **after)
        body = response.json()
        if not body["event"]:
            # An empty page hands the cursor back, so a poller keeps its place.
            assert body["nextOps"] == {"timestamp": after["afterOps.timestamp"], "changeID": after["afterOps.changeID"]}
            break
        seen += [event["context"]["changeID"] for event in body["event"]]
        after = {"afterOps.timestamp": body["nextOps"]["timestamp"], "afterOps.changeID": body["nextOps"]["changeID"]}
    assert seen == expected


def test_after_ops_timestamp_alone(auditor_api, sample):
    response = _get(auditor_api, **{"afterOps.timestamp": sample["rotate"].timestamp.isoformat()})
    assert [e["context"]["changeID"] for e in response.json()["event"]] == [sample["denied"].event_id]
    response = _get(
        auditor_api, **{"afterOps.timestamp": sample["grant"].timestamp.isoformat(), "sortOps.orderBy": "DESCENDING"}
    )
    assert _names(response, sample) == ["insert"]


def test_an_empty_first_page_has_empty_next_ops(auditor_api):
    body = _get(auditor_api, **{"filterOps.apiName": "nothing.ever"}).json()
    assert body == {"event": [], "nextOps": {}}


ACTIONS = [
    "service_account.create",
    "service_account.update",
    "service_account.key.generate",
    "service_account.key.upload",
    "service_account.key.revoke",
    "service_account.key.expiry_reminder",
    "auth.token.grant",
    "auth.token.refuse",
    "auth.login.password",
    "role.create",
    "role.update",
    "role.delete",
    "role.binding.create",
    "role.binding.delete",
    "signing_key.rotate",
    "record.insert",
    "record.read",
    "record.detokenize",
    "record.tokenize",
    "policy.validate",
    "policy.simulate",
    "audit.export",
    "audit.verify",
    "audit.chain.broken",
    "vault.schema.drop",
    "list",
    "create",
    "scim.user.deactivate",
    "anomaly",
]


def test_action_types_of_our_action_names():
    assert action_type_of("service_account.create") == "CREATE"
    assert action_type_of("service_account.key.revoke") == "DELETE"
    assert action_type_of("auth.token.grant") == "LOGIN"
    assert action_type_of("auth.token.refuse") == "LOGIN"
    assert action_type_of("role.binding.create") == "ASSIGN"
    assert action_type_of("role.binding.delete") == "UNASSIGN"
    assert action_type_of("role.delete") == "DELETE"
    assert action_type_of("signing_key.rotate") == "ROTATE"
    assert action_type_of("audit.export") == "READ"
    assert action_type_of("audit.verify") == "VALIDATE"
    assert action_type_of("audit.chain.broken") == "NONE"


def test_action_type_filter_in_sql_agrees_with_the_mapping(append_event):
    for action in ACTIONS:
        append_event(action=action)
    types = {action_type_of(a) for a in ACTIONS} | {"PING", "IMPORT"}
    for action_type in sorted(types):
        found = set(
            AuditEvent.objects.filter(action__in=ACTIONS)
            .filter(action_type_q(action_type))
            .values_list("action", flat=True)
        )
        assert found == {a for a in ACTIONS if action_type_of(a) == action_type}, action_type


def test_unknown_filter_key_is_a_programming_error():
    with pytest.raises(ValueError):
        selectors.skyflow_events(filters={"context.nonsense": "x"})


def test_skyflows_generated_client_reads_the_response(auditor, sample):
    """Skyflow's own v2 generated client (skyflow==2.1.3) against this endpoint, through httpx."""
    from skyflow.generated.rest.client import Skyflow

    client, _account = auditor
    token = client._credentials["HTTP_AUTHORIZATION"].split(" ", 1)[1]
    django_client = APIClient()

    def bridge(request: httpx.Request) -> httpx.Response:
        response = django_client.generic(
            request.method,
            f"{request.url.path}?{request.url.query.decode()}",
            HTTP_AUTHORIZATION=request.headers["authorization"],
        )
        return httpx.Response(response.status_code, headers=dict(response.items()), content=response.content)

    sdk = Skyflow(
        base_url="http://testserver", token=token, httpx_client=httpx.Client(transport=httpx.MockTransport(bridge))
    )
    first = sdk.audit.audit_service_list_audit_events(
        filter_ops_account_id="acc",
        filter_ops_vault_id="v1",
        filter_ops_action_type="CREATE",
        limit=10,
    )
    [event] = first.event
    assert event.context.change_id == sample["insert"].event_id
    assert event.context.actor_type == "SERVICE_ACCOUNT"
    assert event.request.action_type == "CREATE" and event.request.http_info.uri == "/v1/vaults/v1"
    assert event.response.code == 200 and event.account_id == settings.VAULTSTUDIO_ACCOUNT_ID
    assert event.resource_i_ds == ["RECORD/r1", "RECORD/r2", "VAULT/v1"]
    assert first.next_ops.change_id == sample["insert"].event_id

    following = sdk.audit.audit_service_list_audit_events(
        filter_ops_account_id="acc",
        filter_ops_vault_id="v1",
        after_ops_change_id=first.next_ops.change_id,
    )
    assert [e.context.change_id for e in following.event] == [sample["denied"].event_id]


def test_a_page_costs_a_fixed_number_of_queries(auditor_api, sample, append_event, django_assert_max_num_queries):
    for i in range(60):
        append_event(action="many.create", resource_ids=[f"r{i}"], vault_id="v1")
    _get(auditor_api, limit=1)  # warm the per-process caches
    # authentication (1), roles (1), the changeID's seq (1), the page (1)
    with django_assert_max_num_queries(4):
        body = _get(auditor_api, limit=60, **{"afterOps.changeID": sample["insert"].event_id}).json()
    assert len(body["event"]) == 60
