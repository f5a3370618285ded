"""The management API's permission matrix, as data (NetBox's generic API tests).

Every endpoint × {no token, expired token, token without ACCOUNT_ADMIN, token with ACCOUNT_ADMIN}.
Refusals are 401/403 in the JSON error envelope and change nothing; the admin gets the 2xx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from accounts.keys import generate_keypair
from policies.models import Role
from policies.services import binding_create, role_create

from .support import assert_error, audit_actions, client_with, send

pytestmark = pytest.mark.django_db


@dataclass
class World:
    """The objects the endpoints' paths and bodies refer to."""

    sa: Any
    key: Any
    role: Any
    binding: Any
    user: Any
    public_pem: str


@pytest.fixture
def world(service_account_factory, user_factory, group_factory, actor) -> World:
    account, key, _credentials = service_account_factory("matrix-target", algorithm="ES256")
    role = role_create(actor=actor, name="matrix-role")
    binding = binding_create(actor=actor, role=role, service_account=account)
    person = user_factory("matrix-person@example.com")
    group_factory("matrix-group", members=(person,))
    return World(account, key, role, binding, person, generate_keypair("ES256").public_pem)


# (name, method, path, body, the admin's status). Paths and bodies may use {sa}, {key}, {role},
# {binding}, {user}, {user_email} and {public_pem}.
ENDPOINTS = [
    ("service-accounts list", "get", "/api/v1/service-accounts/", None, 200),
    ("service-accounts create", "post", "/api/v1/service-accounts/", {"name": "matrix-new"}, 201),
    ("service-account get", "get", "/api/v1/service-accounts/{sa}/", None, 200),
    ("service-account patch", "patch", "/api/v1/service-accounts/{sa}/", {"description": "changed"}, 200),
    ("service-account deactivate", "delete", "/api/v1/service-accounts/{sa}/", None, 200),
    ("keys list", "get", "/api/v1/service-accounts/{sa}/keys/", None, 200),
    ("key generate", "post", "/api/v1/service-accounts/{sa}/keys/", {"generate": True, "algorithm": "ES256"}, 201),
    (
        "key register",
        "post",
        "/api/v1/service-accounts/{sa}/keys/",
        {"public_key": "{public_pem}", "algorithm": "ES256"},
        201,
    ),
    ("key revoke", "delete", "/api/v1/service-accounts/{sa}/keys/{key}/", None, 200),
    ("roles list", "get", "/api/v1/roles/", None, 200),
    ("role create", "post", "/api/v1/roles/", {"name": "matrix-new-role", "policies": []}, 201),
    ("role get", "get", "/api/v1/roles/{role}/", None, 200),
    ("role patch", "patch", "/api/v1/roles/{role}/", {"description": "changed"}, 200),
    ("role delete", "delete", "/api/v1/roles/{role}/", None, 200),
    ("bindings list", "get", "/api/v1/roles/{role}/bindings/", None, 200),
    ("binding create", "post", "/api/v1/roles/{role}/bindings/", {"user": "{user_email}"}, 201),
    ("binding delete", "delete", "/api/v1/roles/{role}/bindings/{binding}/", None, 200),
    ("users list", "get", "/api/v1/users/", None, 200),
    ("user get", "get", "/api/v1/users/{user}/", None, 200),
    ("groups list", "get", "/api/v1/groups/", None, 200),
]

# (caller, expected status: None means the endpoint's own success status)
CALLERS = [
    ("no token", 401),
    ("expired token", 401),
    ("without ACCOUNT_ADMIN", 403),
    ("ACCOUNT_ADMIN", None),
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
        return value.format(
            sa=world.sa.id,
            key=world.key.key_id,
            role=world.role.id,
            binding=world.binding.id,
            user=world.user.id,
            user_email=world.user.email,
            public_pem=world.public_pem,
        )
    return value


@pytest.mark.parametrize(("endpoint", "caller", "expected"), MATRIX)
def test_permission_matrix(endpoint, caller, expected, world, caller_factory, expired_token):
    _name, method, path, body, success = endpoint
    tokens = {
        "no token": None,
        "expired token": expired_token,  # belongs to an ACCOUNT_ADMIN account: refused for expiry alone
        "without ACCOUNT_ADMIN": caller_factory("AUDITOR", "VAULT_OWNER").token,
        "ACCOUNT_ADMIN": caller_factory("ACCOUNT_ADMIN").token,
    }
    changes_before = audit_actions()
    response = send(client_with(tokens[caller]), method, _fill(path, world), _fill(body, world))

    if expected is None:
        assert response.status_code == success, response.content
        assert response["Content-Type"].split(";")[0] == "application/json"
        assert isinstance(response.json(), dict)
        return
    error = assert_error(response, expected)
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    else:
        assert "ACCOUNT_ADMIN" in error["message"]
    assert audit_actions() == changes_before, "a refused request must change nothing"


def test_matrix_covers_every_management_route():
    """A new route under accounts/ or policies/ api must get a row in ENDPOINTS."""
    from accounts.api.urls import urlpatterns as account_routes
    from policies.api.urls import urlpatterns as policy_routes

    routes = {str(p.pattern).replace("<str:", "{").replace(">", "}") for p in [*account_routes, *policy_routes]}
    covered = {
        path.removeprefix("/api/v1/")
        .replace("{sa}", "{id}")
        .replace("{role}", "{id}")
        .replace("{user}", "{id}")
        .replace("{key}", "{key_id}")
        .replace("{binding}", "{binding_id}")
        for _name, _method, path, _body, _status in ENDPOINTS
    }
    assert routes == covered


def test_builtin_role_is_not_weakened_by_the_role_name(caller_factory, actor):
    """Only the built-in ACCOUNT_ADMIN counts: a custom role can't be given that meaning by name."""
    role = role_create(actor=actor, name="account_admin")
    caller = caller_factory()
    binding_create(actor=actor, role=role, service_account=caller.account)
    assert Role.objects.get(name="ACCOUNT_ADMIN").builtin
    assert_error(caller.client().get("/api/v1/service-accounts/"), 403, "ACCOUNT_ADMIN")
