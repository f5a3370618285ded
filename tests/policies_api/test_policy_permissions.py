"""Who may manage policies: every policy endpoint × {no token, expired, wrong role, VAULT_OWNER}, as data;
an owner scoped to one vault sees and edits only that vault's policies; the OpenAPI document."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from policies.models import Policy
from tests.management.support import assert_error, audit_actions, client_with, send

from .conftest import V2_SOURCE

pytestmark = pytest.mark.django_db


@dataclass
class World:
    vault: Any
    policy: Any


@pytest.fixture
def world(vault, policy_factory, actor) -> World:
    from policies.services import policy_update

    policy = policy_factory()
    policy_update(actor=actor, policy=policy, source=V2_SOURCE)
    return World(vault, policy)


# (name, method, path, body, the owner's status). Paths and bodies may use {vault} and {policy}.
ENDPOINTS = [
    ("policies list", "get", "/api/v1/policies/", None, 200),
    (
        "policy create",
        "post",
        "/api/v1/policies/",
        {"name": "matrix-new", "vault": "{vault}", "source": "ALLOW READ ON persons.region"},
        201,
    ),
    ("policy validate", "post", "/api/v1/policies/validate", {"vault": "{vault}", "source": "ALLOW FLY"}, 200),
    ("policy get", "get", "/api/v1/policies/{policy}/", None, 200),
    ("policy patch", "patch", "/api/v1/policies/{policy}/", {"status": "INACTIVE"}, 200),
    ("policy delete", "delete", "/api/v1/policies/{policy}/", None, 200),
    ("versions list", "get", "/api/v1/policies/{policy}/versions/", None, 200),
    ("version rollback", "post", "/api/v1/policies/{policy}/versions/1/rollback", None, 200),
    ("version diff", "get", "/api/v1/policies/{policy}/versions/2/diff", None, 200),
]

CALLERS = [
    ("no token", 401),
    ("expired token", 401),
    ("ACCOUNT_ADMIN and AUDITOR", 403),
    ("VAULT_OWNER", None),
]

MATRIX = [
    pytest.param(endpoint, caller, expected, id=f"{endpoint[0]} / {caller}")
    for endpoint in ENDPOINTS
    for caller, expected in CALLERS
]


def _fill(value: Any, world: World) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, str):
        return value.format(vault=world.vault.id, policy=world.policy.id)
    return value


@pytest.mark.parametrize(("endpoint", "caller", "expected"), MATRIX)
def test_permission_matrix(endpoint, caller, expected, world, client_for, expired_owner_token):
    _name, method, path, body, success = endpoint
    clients = {
        "no token": lambda: client_with(None),
        "expired token": lambda: client_with(expired_owner_token),  # a VAULT_OWNER's: refused for expiry alone
        "ACCOUNT_ADMIN and AUDITOR": lambda: client_for("ACCOUNT_ADMIN", "AUDITOR"),
        "VAULT_OWNER": lambda: client_for("VAULT_OWNER"),
    }
    client = clients[caller]()
    changes_before = audit_actions()

    response = send(client, method, _fill(path, world), _fill(body, world))

    if expected is None:
        assert response.status_code == success, response.content
        assert response["Content-Type"].split(";")[0] == "application/json"
        assert isinstance(response.json(), dict)
        return
    error = assert_error(response, expected)
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    else:
        assert "VAULT_OWNER" in error["message"]
    assert audit_actions() == changes_before, "a refused request must change nothing"


def test_matrix_covers_every_policy_route():
    """A new route in policies/api/policy_urls.py must get a row in ENDPOINTS."""
    from policies.api.policy_urls import urlpatterns

    routes = {str(p.pattern).replace("<str:", "{").replace("<int:", "{").replace(">", "}") for p in urlpatterns}
    covered = {
        re.sub(r"/versions/\d+/", "/versions/{version}/", path.removeprefix("/api/v1/").replace("{policy}", "{id}"))
        for _name, _method, path, _body, _status in ENDPOINTS
    }
    assert routes == covered


def test_a_scoped_owner_sees_and_edits_only_its_vaults_policies(vault, vault_factory, policy_factory, client_for):
    other = vault_factory("other")
    mine = policy_factory("mine")
    theirs = policy_factory("theirs", target=other)
    scoped = client_for(vault=vault)

    listing = scoped.get("/api/v1/policies/").json()
    assert [p["id"] for p in listing["results"]] == [str(mine.id)] and listing["count"] == 1
    assert scoped.get(f"/api/v1/policies/{mine.id}/").status_code == 200
    before = audit_actions()
    for method, path, body in [
        ("get", f"/api/v1/policies/{theirs.id}/", None),
        ("patch", f"/api/v1/policies/{theirs.id}/", {"status": "INACTIVE"}),
        ("delete", f"/api/v1/policies/{theirs.id}/", None),
        ("get", f"/api/v1/policies/{theirs.id}/versions/", None),
        ("post", f"/api/v1/policies/{theirs.id}/versions/1/rollback", None),
        ("get", f"/api/v1/policies/{theirs.id}/versions/1/diff", None),
    ]:
        assert_error(send(scoped, method, path, body), 404, "No policy with id")
    for method, path, body in [
        ("get", f"/api/v1/policies/?vault={other.id}", None),
        ("post", "/api/v1/policies/", {"name": "sneaky", "vault": str(other.id), "source": "ALLOW READ ON persons.*"}),
        ("post", "/api/v1/policies/validate", {"vault": str(other.id), "source": "ALLOW READ ON persons.*"}),
    ]:
        assert_error(send(scoped, method, path, body), 400, f"No vault with id {other.id}")
    assert audit_actions() == before
    assert Policy.objects.get(pk=theirs.pk).status == "ACTIVE"
    assert not Policy.objects.filter(name="sneaky").exists()

    created = send(
        scoped,
        "post",
        "/api/v1/policies/",
        {"name": "new", "vault": str(vault.id), "source": "ALLOW READ ON persons.*"},
    )
    assert created.status_code == 201, created.content


def test_an_unscoped_owner_sees_every_vaults_policies(vault, vault_factory, policy_factory, owner):
    policy_factory("mine")
    policy_factory("theirs", target=vault_factory("other"))
    assert owner.get("/api/v1/policies/").json()["count"] == 2


# --- OpenAPI --------------------------------------------------------------------------------------

DOCUMENTED = {
    "/api/v1/policies/": {"get", "post"},
    "/api/v1/policies/validate": {"post"},
    "/api/v1/policies/{id}/": {"get", "patch", "delete"},
    "/api/v1/policies/{id}/versions/": {"get"},
    "/api/v1/policies/{id}/versions/{version}/rollback": {"post"},
    "/api/v1/policies/{id}/versions/{version}/diff": {"get"},
}


def test_openapi_documents_every_policy_endpoint():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    for path, methods in DOCUMENTED.items():
        assert path in schema["paths"], path
        operations = schema["paths"][path]
        assert methods <= set(operations), (path, set(operations))
        for method in methods:
            operation = operations[method]
            assert operation.get("summary") and operation["tags"] == ["policies"], (path, method)
            assert {"401", "403"} <= set(operation["responses"]), (path, method)
    components = schema["components"]["schemas"]
    assert {"id", "name", "vault", "source", "status", "version"} <= set(components["Policy"]["properties"])
    assert set(components["PolicyCreate"]["properties"]) == {"name", "vault", "source", "status"}
    assert set(components["PolicyValidation"]["properties"]) == {"valid", "details"}
