"""Roles and role bindings through /api/v1/roles/ (DESIGN.md §4, §15)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from policies.models import BUILTIN_ROLES, Role, RoleBinding
from tests.studio_support import login_client

from .support import assert_error, audit_actions, last_audit_event, send

pytestmark = pytest.mark.django_db

BASE = "/api/v1/roles/"
ROLE_FIELDS = {"id", "name", "description", "builtin", "policies", "created_at", "updated_at"}
BINDING_FIELDS = {"id", "role", "subject_type", "subject", "vault", "expires_at", "created_at"}


def _builtin(name):
    return Role.objects.get(name=name)


def _create_role(client, name="support", **body):
    response = send(client, "post", BASE, {"name": name, **body})
    assert response.status_code == 201, response.content
    return response.json()


# --- roles ----------------------------------------------------------------------------------------


def test_builtin_roles_are_listed(admin_api):
    listing = admin_api.get(BASE).json()
    builtins = {r["name"] for r in listing["results"] if r["builtin"]}
    assert builtins == set(BUILTIN_ROLES)
    assert listing["count"] == len(listing["results"])
    assert all(set(r) == ROLE_FIELDS for r in listing["results"])


def test_role_crud_is_audited(admin_api):
    created = _create_role(admin_api, "support", description="Support agents", policies=[])
    assert set(created) == ROLE_FIELDS
    assert (created["name"], created["description"], created["builtin"], created["policies"]) == (
        "support",
        "Support agents",
        False,
        [],
    )
    assert last_audit_event().action == "role.create"
    assert admin_api.get(f"{BASE}{created['id']}/").json() == {**created}

    changed = send(admin_api, "patch", f"{BASE}{created['id']}/", {"name": "tier-1", "description": "Tier one"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["name"], changed.json()["description"]) == ("tier-1", "Tier one")
    event = last_audit_event()
    assert event.action == "role.update" and json.loads(event.details)["before"]["name"] == "support"

    deleted = admin_api.delete(f"{BASE}{created['id']}/")
    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": True, "id": created["id"]}
    assert last_audit_event().action == "role.delete"
    assert not Role.objects.filter(pk=created["id"]).exists()
    assert_error(admin_api.get(f"{BASE}{created['id']}/"), 404, "No role")


def test_deleting_a_role_removes_its_bindings(admin_api, user_factory):
    role = _create_role(admin_api)
    person = user_factory()
    send(admin_api, "post", f"{BASE}{role['id']}/bindings/", {"user": person.email})
    admin_api.delete(f"{BASE}{role['id']}/")
    assert not RoleBinding.objects.filter(user=person).exists()
    assert json.loads(last_audit_event().details)["bindings_removed"] == 1


# --- roles carrying policies ----------------------------------------------------------------------

POLICY_TEXT = "ALLOW READ ON persons.name, persons.region WITH REDACTION = PLAIN_TEXT WHERE persons.region = 'EU'"
PERSONS = {"tables": [{"name": "persons", "columns": [{"name": "name"}, {"name": "region", "encrypted": False}]}]}


@pytest.fixture
def policies(actor):
    """Two policies in two vaults: a role may carry policies of any vault."""
    from policies.services import policy_create
    from vaults.schema import parse_schema
    from vaults.services import vault_create

    made = []
    for name in ("eu-customers", "us-customers"):
        vault = vault_create(actor=actor, name=name, schema=parse_schema(PERSONS))
        made.append(policy_create(actor=actor, vault=vault, name=f"{name}-readers", source=POLICY_TEXT))
    return made


def test_a_role_carries_policies_and_shows_them(admin_api, policies):
    first, second = (str(p.id) for p in policies)

    created = _create_role(admin_api, "readers", policies=[first, second, first])

    assert sorted(created["policies"]) == sorted([first, second])
    assert set(Role.objects.get(pk=created["id"]).policies.values_list("id", flat=True)) == {p.id for p in policies}
    event = last_audit_event()
    assert event.action == "role.create" and json.loads(event.details)["policies"] == sorted([first, second])
    assert admin_api.get(f"{BASE}{created['id']}/").json()["policies"] == created["policies"]
    listed = {r["id"]: r for r in admin_api.get(BASE).json()["results"]}
    assert sorted(listed[created["id"]]["policies"]) == sorted([first, second])
    assert all(r["policies"] == [] for r in listed.values() if r["builtin"])


def test_patching_policies_replaces_the_list(admin_api, policies):
    first, second = (str(p.id) for p in policies)
    role = _create_role(admin_api, "readers", policies=[first])

    changed = send(admin_api, "patch", f"{BASE}{role['id']}/", {"policies": [second]})

    assert changed.status_code == 200, changed.content
    assert changed.json()["policies"] == [second]
    details = json.loads(last_audit_event().details)
    assert (details["before"]["policies"], details["after"]["policies"]) == ([first], [second])

    # Leaving policies out keeps them; an empty list removes them all.
    kept = send(admin_api, "patch", f"{BASE}{role['id']}/", {"description": "EU and US"}).json()
    assert kept["policies"] == [second]
    emptied = send(admin_api, "patch", f"{BASE}{role['id']}/", {"policies": []}).json()
    assert emptied["policies"] == []


def test_a_deleted_policy_leaves_the_roles_that_carried_it(admin_api, policies, actor):
    from policies.services import policy_delete

    role = _create_role(admin_api, "readers", policies=[str(p.id) for p in policies])
    policy_delete(actor=actor, policy=policies[0])
    assert admin_api.get(f"{BASE}{role['id']}/").json()["policies"] == [str(policies[1].id)]


@pytest.mark.parametrize("method", ["post", "patch"])
def test_an_unknown_policy_id_is_a_400_naming_it(admin_api, policies, method):
    path = BASE if method == "post" else f"{BASE}{_create_role(admin_api)['id']}/"
    unknown = str(uuid.uuid4())
    before = audit_actions()

    error = assert_error(
        send(admin_api, method, path, {"name": "with-policies", "policies": [str(policies[0].id), unknown]}),
        400,
        f"No policy with id {unknown}",
    )

    assert [d["field"] for d in error["details"]] == ["policies"]
    assert audit_actions() == before
    assert not Role.objects.filter(name="with-policies").exists()
    assert_error(send(admin_api, method, path, {"name": "with-policies", "policies": ["nope"]}), 400, "policies")


@pytest.mark.parametrize("name", ["ACCOUNT_ADMIN", "VAULT_OWNER", "AUDITOR"])
def test_builtin_roles_refuse_policies(admin_api, policies, name):
    role = _builtin(name)
    before = audit_actions()
    assert_error(
        send(admin_api, "patch", f"{BASE}{role.id}/", {"policies": [str(policies[0].id)]}),
        400,
        "built-in role",
        "management rights only",
    )
    assert not role.policies.exists()
    assert audit_actions() == before


@pytest.mark.parametrize("name", ["ACCOUNT_ADMIN", "VAULT_OWNER", "AUDITOR"])
def test_builtin_roles_cannot_be_renamed_or_deleted(admin_api, name):
    role = _builtin(name)
    assert_error(send(admin_api, "patch", f"{BASE}{role.id}/", {"name": "mine-now"}), 400, "built-in", "renamed")
    assert_error(admin_api.delete(f"{BASE}{role.id}/"), 400, "built-in", "deleted")
    assert Role.objects.get(pk=role.pk).name == name
    # Its description may change.
    response = send(admin_api, "patch", f"{BASE}{role.id}/", {"description": "Ours."})
    assert response.status_code == 200 and response.json()["description"] == "Ours."


def test_role_input_errors(admin_api):
    _create_role(admin_api, "taken")
    assert_error(send(admin_api, "post", BASE, {"name": "taken"}), 409, "taken")
    assert_error(send(admin_api, "post", BASE, {}), 400, "name")
    assert_error(send(admin_api, "post", BASE, {"name": "   "}), 400, "name")
    assert_error(send(admin_api, "post", BASE, {"name": "x", "permissions": []}), 400, "permissions")
    assert_error(admin_api.get(f"{BASE}{uuid.uuid4()}/"), 404, "No role")
    assert_error(admin_api.get(f"{BASE}ACCOUNT_ADMIN/"), 404, "No role")


# --- bindings -------------------------------------------------------------------------------------


def test_bind_service_account_user_and_group(admin_api, caller_factory, user_factory, group_factory):
    role = _create_role(admin_api)
    app = caller_factory(name="bound-app")
    person = user_factory("Agent@Example.com")
    group = group_factory("support-agents", members=(person,))
    path = f"{BASE}{role['id']}/bindings/"

    by_account = send(admin_api, "post", path, {"service_account": str(app.account.client_id)})
    by_user = send(admin_api, "post", path, {"user": "agent@example.com"})
    by_group = send(admin_api, "post", path, {"group": "support-agents"})

    for response in (by_account, by_user, by_group):
        assert response.status_code == 201, response.content
        assert set(response.json()) == BINDING_FIELDS
    assert [(b.json()["subject_type"], b.json()["subject"]) for b in (by_account, by_user, by_group)] == [
        ("service_account", str(app.account.client_id)),
        ("user", person.email),
        ("group", group.name),
    ]
    assert all(b.json()["role"] == role["id"] and b.json()["vault"] is None for b in (by_account, by_user, by_group))
    assert audit_actions(action="role.binding.create")[-3:] == ["role.binding.create"] * 3

    listing = admin_api.get(path).json()
    assert listing["count"] == 3
    assert [b["id"] for b in listing["results"]] == [b.json()["id"] for b in (by_account, by_user, by_group)]


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"service_account": str(uuid.uuid4())}, "service_account", "No service account with client_id"),
        ({"service_account": "not-a-client-id"}, "service_account", "not-a-client-id"),
        ({"user": "nobody@example.com"}, "user", "nobody@example.com"),
        ({"group": "no-such-group"}, "group", "no-such-group"),
    ],
)
def test_unknown_subject_is_a_400_naming_it(admin_api, body, field, fragment):
    role = _create_role(admin_api)
    error = assert_error(send(admin_api, "post", f"{BASE}{role['id']}/bindings/", body), 400, fragment)
    assert [d["field"] for d in error["details"]] == [field]
    assert not RoleBinding.objects.filter(role_id=role["id"]).exists()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "exactly one subject"),
        ({"user": "a@example.com", "group": "g"}, "exactly one subject"),
        ({"expires_at": None}, "exactly one subject"),
        ({"user": ""}, "user: This field may not be blank"),
    ],
)
def test_a_binding_names_exactly_one_subject(admin_api, user_factory, group_factory, body, fragment):
    user_factory("a@example.com")
    group_factory("g")
    role = _create_role(admin_api)
    assert_error(send(admin_api, "post", f"{BASE}{role['id']}/bindings/", body), 400, fragment)
    assert not RoleBinding.objects.filter(role_id=role["id"]).exists()


def test_binding_expiry_and_vault_scope(admin_api, user_factory):
    person = user_factory()
    soon = timezone.now() + timedelta(days=7)
    vault = str(uuid.uuid4())
    owner_bindings = f"{BASE}{_builtin('VAULT_OWNER').id}/bindings/"

    scoped = send(
        admin_api, "post", owner_bindings, {"user": person.email, "vault": vault, "expires_at": soon.isoformat()}
    )

    assert scoped.status_code == 201, scoped.content
    assert scoped.json()["vault"] == vault and scoped.json()["expires_at"].startswith(soon.strftime("%Y-%m-%dT%H:%M"))
    assert json.loads(last_audit_event().details)["vault_id"] == vault

    custom = _create_role(admin_api)
    assert_error(
        send(admin_api, "post", f"{BASE}{custom['id']}/bindings/", {"user": person.email, "vault": vault}),
        400,
        "vault scopes only built-in roles",
    )
    assert_error(
        send(
            admin_api,
            "post",
            f"{BASE}{custom['id']}/bindings/",
            {"user": person.email, "expires_at": "2001-01-01T00:00:00Z"},
        ),
        400,
        "future",
    )
    assert_error(send(admin_api, "post", owner_bindings, {"user": person.email, "vault": "nope"}), 400, "vault")


def test_duplicate_binding_is_a_conflict(admin_api, user_factory):
    person = user_factory()
    role = _create_role(admin_api)
    path = f"{BASE}{role['id']}/bindings/"
    assert send(admin_api, "post", path, {"user": person.email}).status_code == 201
    assert_error(send(admin_api, "post", path, {"user": person.email}), 409, "already bound")


def test_delete_binding(admin_api, user_factory):
    person = user_factory()
    role = _create_role(admin_api)
    path = f"{BASE}{role['id']}/bindings/"
    binding = send(admin_api, "post", path, {"user": person.email}).json()

    response = admin_api.delete(f"{path}{binding['id']}/")

    assert response.status_code == 200
    assert response.json() == {"deleted": True, "id": binding["id"]}
    event = last_audit_event()
    assert event.action == "role.binding.delete" and json.loads(event.resource_ids) == [binding["id"]]
    assert admin_api.get(path).json() == {"results": [], "count": 0}
    assert_error(admin_api.delete(f"{path}{binding['id']}/"), 404, "no binding")


def test_binding_of_another_role_is_not_found_under_this_one(admin_api, user_factory):
    person = user_factory()
    first, second = _create_role(admin_api, "first"), _create_role(admin_api, "second")
    binding = send(admin_api, "post", f"{BASE}{first['id']}/bindings/", {"user": person.email}).json()
    assert_error(admin_api.delete(f"{BASE}{second['id']}/bindings/{binding['id']}/"), 404)
    assert RoleBinding.objects.filter(pk=binding["id"]).exists()


def test_a_binding_made_through_the_api_grants_and_its_removal_revokes(admin_api, caller_factory):
    newcomer = caller_factory(name="newcomer")
    assert_error(newcomer.client().get("/api/v1/service-accounts/"), 403)
    path = f"{BASE}{_builtin('ACCOUNT_ADMIN').id}/bindings/"

    binding = send(admin_api, "post", path, {"service_account": str(newcomer.account.client_id)}).json()
    assert newcomer.client().get("/api/v1/service-accounts/").status_code == 200

    admin_api.delete(f"{path}{binding['id']}/")
    assert_error(newcomer.client().get("/api/v1/service-accounts/"), 403)


def test_a_studio_session_is_audited_as_the_person(api, user_factory):
    person = user_factory("admin@example.com", is_superuser=True)
    login_client(api, person)  # a studio session that has passed MFA
    response = send(api, "post", BASE, {"name": "from-the-studio"})
    assert response.status_code == 201, response.content
    event = last_audit_event()
    assert (event.actor_type, event.actor_display, event.auth_mode) == ("USER", "admin@example.com", "SESSION")
