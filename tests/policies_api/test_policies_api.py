"""Policies through /api/v1/policies/: compile at save, every error located, versions, rollback, diff."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from audit.models import AuditEvent
from policies.language import compile_policy
from policies.models import Policy, PolicyVersion
from tests.management.support import assert_error, audit_actions, last_audit_event, send
from vaults.schema import parse_schema
from vaults.selectors import schema_info
from vaults.services import vault_schema_update

from .conftest import PERSONS, SKYFLOW_EXAMPLE, V1_SOURCE, V2_SOURCE

pytestmark = pytest.mark.django_db

BASE = "/api/v1/policies/"
POLICY_FIELDS = {"id", "name", "vault", "source", "status", "version", "created_at", "updated_at", "updated_by"}
VERSION_FIELDS = {"version", "name", "status", "source", "created_at", "created_by"}

# Three errors, one per line, each at a known position.
INVALID_SOURCE = (
    "ALLOW READ ON persons.nope\n"
    "DENY READ ON persons.ssn WITH REDACTION = MASKED\n"
    "ALLOW READ ON persons.name WHERE persons.name LIKE 'A%'\n"
)
INVALID_ERRORS = [(1, 15, "no column 'nope'"), (2, 43, "DENY takes no WITH REDACTION"), (3, 34, "no blind index")]


def _create(client, vault, name="support", source=V1_SOURCE, **extra):
    return send(client, "post", BASE, {"name": name, "vault": str(vault.id), "source": source, **extra})


def _created(client, vault, **kwargs):
    response = _create(client, vault, **kwargs)
    assert response.status_code == 201, response.content
    return response.json()


def _details(event):
    return json.loads(event.details)


def _sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


# --- create ---------------------------------------------------------------------------------------


def test_create_compiles_stores_version_one_and_audits_a_hash_of_the_text(owner, vault):
    body = _created(owner, vault)

    assert set(body) == POLICY_FIELDS
    assert (body["name"], body["vault"], body["source"], body["status"], body["version"]) == (
        "support",
        str(vault.id),
        V1_SOURCE,
        "ACTIVE",
        1,
    )
    policy = Policy.objects.get(pk=body["id"])
    assert policy.compiled == compile_policy(V1_SOURCE, schema_info(vault)).compiled.to_json()
    assert policy.compiled["statements"][1]["effect"] == "DENY"
    (version,) = PolicyVersion.objects.filter(policy=policy)
    assert (version.version, version.name, version.source, version.status) == (1, "support", V1_SOURCE, "ACTIVE")
    assert version.compiled == policy.compiled and version.created_by

    event = last_audit_event()
    assert (event.action, event.resource_type, event.vault_id) == ("policy.create", "POLICY", str(vault.id))
    assert json.loads(event.resource_ids) == [body["id"]]
    assert _details(event) == {"name": "support", "version": 1, "status": "ACTIVE", "source_sha256": _sha256(V1_SOURCE)}
    assert "persons.vip" not in event.details


def test_create_inactive(owner, vault):
    assert _created(owner, vault, status="INACTIVE")["status"] == "INACTIVE"


def test_create_with_errors_lists_each_with_line_and_column_and_writes_nothing(owner, vault):
    before = audit_actions()

    error = assert_error(_create(owner, vault, source=INVALID_SOURCE), 400, "The policy has 3 error(s)", "line 1")

    assert [(d["line"], d["column"]) for d in error["details"]] == [(line, col) for line, col, _ in INVALID_ERRORS]
    for detail, (_line, _col, fragment) in zip(error["details"], INVALID_ERRORS, strict=True):
        assert set(detail) == {"line", "column", "message"} and fragment in detail["message"]
    assert not Policy.objects.exists() and not PolicyVersion.objects.exists()
    assert audit_actions() == before


def test_leading_blank_lines_keep_their_line_numbers(owner, vault):
    error = assert_error(_create(owner, vault, source="\n\n  ALLOW READ ON persons.nope"), 400)
    assert [(d["line"], d["column"]) for d in error["details"]] == [(3, 17)]


def test_skyflow_example_text_is_accepted_unchanged(owner, vault):
    body = _created(owner, vault, name="eu-readers", source=SKYFLOW_EXAMPLE)
    assert body["source"] == SKYFLOW_EXAMPLE
    (statement,) = Policy.objects.get(pk=body["id"]).compiled["statements"]
    assert statement["resources"] == [["persons", "name"], ["persons", "region"]]
    assert statement["redaction"] == "PLAIN_TEXT" and statement["condition"]["right"] == {"value": "EU"}


@pytest.mark.parametrize(
    ("body", "status", "fragment", "field"),
    [
        ({"name": "x", "source": V1_SOURCE}, 400, "vault", "vault"),
        ({"name": "x", "vault": "not-a-uuid", "source": V1_SOURCE}, 400, "vault", "vault"),
        ({"name": "x", "vault": "{other}", "source": V1_SOURCE}, 400, "No vault with id", "vault"),
        ({"name": "", "vault": "{vault}", "source": V1_SOURCE}, 400, "name", "name"),
        ({"name": "x", "vault": "{vault}", "source": ""}, 400, "source", "source"),
        ({"name": "x", "vault": "{vault}", "source": V1_SOURCE, "status": "ON"}, 400, "status", "status"),
        ({"name": "x", "vault": "{vault}", "source": V1_SOURCE, "version": 7}, 400, "Unknown field", "version"),
    ],
)
def test_create_input_errors(owner, vault, body, status, fragment, field):
    filled = {k: v.format(vault=vault.id, other=uuid.uuid4()) if isinstance(v, str) else v for k, v in body.items()}
    error = assert_error(send(owner, "post", BASE, filled), status, fragment)
    assert field in [d["field"] for d in error["details"]]
    assert not Policy.objects.exists()


def test_duplicate_name_in_a_vault_is_a_conflict_but_another_vault_may_reuse_it(owner, vault, vault_factory):
    _created(owner, vault)
    assert_error(_create(owner, vault), 409, "already has a policy named 'support'")
    assert _created(owner, vault_factory("other"))["name"] == "support"


# --- validate -------------------------------------------------------------------------------------


def test_validate_a_valid_text(owner, vault):
    before = audit_actions()
    response = send(owner, "post", f"{BASE}validate", {"vault": str(vault.id), "source": SKYFLOW_EXAMPLE})
    assert response.status_code == 200
    assert response.json() == {"valid": True, "details": []}
    assert audit_actions() == before and not Policy.objects.exists()


def test_validate_an_invalid_text_is_a_200_with_every_error(owner, vault):
    before = audit_actions()
    response = send(owner, "post", f"{BASE}validate", {"vault": str(vault.id), "source": INVALID_SOURCE})
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert [(d["line"], d["column"]) for d in body["details"]] == [(line, col) for line, col, _ in INVALID_ERRORS]
    assert audit_actions() == before and not Policy.objects.exists()


def test_validate_needs_a_vault_you_own(owner):
    error = assert_error(send(owner, "post", f"{BASE}validate", {"vault": str(uuid.uuid4()), "source": "x"}), 400)
    assert [d["field"] for d in error["details"]] == ["vault"]


# --- read -----------------------------------------------------------------------------------------


def test_get_and_list_filtered_by_vault(owner, vault, vault_factory):
    other = vault_factory("other")
    mine = _created(owner, vault)
    theirs = _created(owner, other, name="other-support")

    assert owner.get(f"{BASE}{mine['id']}/").json() == mine
    listing = owner.get(BASE).json()
    assert listing["count"] == 2 and {p["id"] for p in listing["results"]} == {mine["id"], theirs["id"]}
    assert owner.get(BASE, {"vault": str(other.id)}).json() == {"results": [theirs], "count": 1}
    assert_error(owner.get(BASE, {"vault": str(uuid.uuid4())}), 400, "No vault with id")
    assert_error(owner.get(f"{BASE}{uuid.uuid4()}/"), 404, "No policy with id")
    assert_error(owner.get(f"{BASE}not-an-id/"), 404, "No policy with id")


# --- update ---------------------------------------------------------------------------------------


def test_update_text_makes_version_two(owner, vault):
    created = _created(owner, vault)

    response = send(owner, "patch", f"{BASE}{created['id']}/", {"source": V2_SOURCE})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["source"], body["name"], body["status"]) == (2, V2_SOURCE, "support", "ACTIVE")
    policy = Policy.objects.get(pk=created["id"])
    assert policy.compiled == compile_policy(V2_SOURCE, schema_info(vault)).compiled.to_json()
    assert list(PolicyVersion.objects.filter(policy=policy).values_list("version", "source")) == [
        (2, V2_SOURCE),
        (1, V1_SOURCE),
    ]
    event = last_audit_event()
    assert event.action == "policy.update"
    assert _details(event) == {
        "name": "support",
        "version": 2,
        "status": "ACTIVE",
        "source_sha256": _sha256(V2_SOURCE),
        "changed": ["source"],
    }


def test_update_name_and_status_also_make_a_version(owner, vault):
    created = _created(owner, vault)
    body = send(owner, "patch", f"{BASE}{created['id']}/", {"name": "agents", "status": "INACTIVE"}).json()
    assert (body["name"], body["status"], body["version"]) == ("agents", "INACTIVE", 2)
    version = PolicyVersion.objects.get(policy_id=created["id"], version=2)
    assert (version.name, version.status, version.source) == ("agents", "INACTIVE", V1_SOURCE)
    assert _details(last_audit_event())["changed"] == ["name", "status"]


def test_update_that_changes_nothing_makes_no_version_and_no_event(owner, vault):
    created = _created(owner, vault)
    before = audit_actions()

    for body in ({}, {"source": V1_SOURCE}, {"name": "support", "status": "ACTIVE", "source": V1_SOURCE}):
        response = send(owner, "patch", f"{BASE}{created['id']}/", body)
        assert response.status_code == 200 and response.json()["version"] == 1

    assert PolicyVersion.objects.filter(policy_id=created["id"]).count() == 1
    assert audit_actions() == before


def test_update_with_errors_changes_nothing(owner, vault):
    created = _created(owner, vault)
    before = audit_actions()
    error = assert_error(
        send(owner, "patch", f"{BASE}{created['id']}/", {"name": "renamed", "source": INVALID_SOURCE}), 400
    )
    assert len(error["details"]) == 3 and all({"line", "column"} <= set(d) for d in error["details"])
    policy = Policy.objects.get(pk=created["id"])
    assert (policy.name, policy.source, policy.version) == ("support", V1_SOURCE, 1)
    assert audit_actions() == before


def test_update_cannot_move_a_policy_or_take_a_taken_name(owner, vault):
    created = _created(owner, vault)
    _created(owner, vault, name="taken", source=V2_SOURCE)
    path = f"{BASE}{created['id']}/"
    assert_error(send(owner, "patch", path, {"vault": str(uuid.uuid4())}), 400, "Unknown field")
    assert_error(send(owner, "patch", path, {"name": "taken"}), 409, "already has a policy named 'taken'")
    assert Policy.objects.get(pk=created["id"]).version == 1


# --- versions, rollback, diff ---------------------------------------------------------------------


def _with_two_versions(owner, vault):
    created = _created(owner, vault)
    send(owner, "patch", f"{BASE}{created['id']}/", {"source": V2_SOURCE})
    return created["id"]


def test_versions_are_listed_newest_first(owner, vault):
    policy_id = _with_two_versions(owner, vault)
    send(owner, "patch", f"{BASE}{policy_id}/", {"status": "INACTIVE"})

    listing = owner.get(f"{BASE}{policy_id}/versions/").json()

    assert listing["count"] == 3
    assert all(set(v) == VERSION_FIELDS for v in listing["results"])
    assert [(v["version"], v["status"], v["source"]) for v in listing["results"]] == [
        (3, "INACTIVE", V2_SOURCE),
        (2, "ACTIVE", V2_SOURCE),
        (1, "ACTIVE", V1_SOURCE),
    ]
    assert listing["results"][0]["created_by"]
    assert owner.get(f"{BASE}{policy_id}/versions/", {"limit": 1, "offset": 2}).json()["results"][0]["version"] == 1


def test_rollback_to_version_one_makes_version_three_with_its_text(owner, vault):
    policy_id = _with_two_versions(owner, vault)

    response = owner.post(f"{BASE}{policy_id}/versions/1/rollback")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["source"]) == (3, V1_SOURCE)
    policy = Policy.objects.get(pk=policy_id)
    assert policy.compiled == compile_policy(V1_SOURCE, schema_info(vault)).compiled.to_json()
    assert PolicyVersion.objects.get(policy=policy, version=3).source == V1_SOURCE
    event = last_audit_event()
    assert event.action == "policy.rollback"
    assert _details(event) == {
        "name": "support",
        "version": 3,
        "status": "ACTIVE",
        "source_sha256": _sha256(V1_SOURCE),
        "rolled_back_to": 1,
    }


def test_rollback_keeps_name_and_status(owner, vault):
    policy_id = _with_two_versions(owner, vault)
    send(owner, "patch", f"{BASE}{policy_id}/", {"name": "renamed", "status": "INACTIVE"})
    body = owner.post(f"{BASE}{policy_id}/versions/1/rollback").json()
    assert (body["name"], body["status"], body["source"], body["version"]) == ("renamed", "INACTIVE", V1_SOURCE, 4)


def test_rollback_to_the_current_text_changes_nothing(owner, vault):
    policy_id = _with_two_versions(owner, vault)
    before = audit_actions()
    response = owner.post(f"{BASE}{policy_id}/versions/2/rollback")
    assert response.status_code == 200 and response.json()["version"] == 2
    assert audit_actions() == before


def test_rollback_of_a_text_that_no_longer_compiles_is_a_400_with_its_errors(owner, vault, actor):
    policy_id = _with_two_versions(owner, vault)
    # Version 1 tests persons.vip; version 2 (current) does not. Drop the column.
    without_vip = {"tables": [{**PERSONS["tables"][0], "columns": PERSONS["tables"][0]["columns"][:4]}]}
    vault_schema_update(actor=actor, vault=vault, schema=parse_schema(without_vip), confirm_drop=True)
    before = audit_actions()

    error = assert_error(
        owner.post(f"{BASE}{policy_id}/versions/1/rollback"),
        400,
        "Version 1 of policy support no longer compiles",
        "1 error(s)",
    )

    assert [(d["line"], d["column"]) for d in error["details"]] == [(3, 32)]
    assert "vip" in error["details"][0]["message"]
    policy = Policy.objects.get(pk=policy_id)
    assert (policy.version, policy.source) == (2, V2_SOURCE)
    assert PolicyVersion.objects.filter(policy=policy).count() == 2
    assert audit_actions() == before


def test_rollback_to_an_unknown_version_is_a_404(owner, vault):
    policy_id = _with_two_versions(owner, vault)
    assert_error(owner.post(f"{BASE}{policy_id}/versions/9/rollback"), 404, "has no version 9", "1 to 2")
    assert_error(owner.post(f"{BASE}{uuid.uuid4()}/versions/1/rollback"), 404, "No policy")


def test_diff_between_versions(owner, vault):
    policy_id = _with_two_versions(owner, vault)

    response = owner.get(f"{BASE}{policy_id}/versions/2/diff")

    assert response.status_code == 200
    body = response.json()
    assert (body["policy"], body["version"], body["against"]) == (policy_id, 2, 1)
    lines = body["diff"].splitlines()
    assert lines[:2] == ["--- support@v1", "+++ support@v2"]
    assert "-ALLOW READ ON persons.name, persons.email WITH REDACTION = PLAIN_TEXT" in lines
    assert "-DENY READ ON persons.ssn WHERE persons.vip = TRUE" in lines
    assert "+ALLOW READ ON persons.name, persons.email WITH REDACTION = MASKED" in lines

    reverse = owner.get(f"{BASE}{policy_id}/versions/1/diff", {"against": 2}).json()
    assert reverse["against"] == 2 and "+DENY READ ON persons.ssn WHERE persons.vip = TRUE" in reverse["diff"]
    first = owner.get(f"{BASE}{policy_id}/versions/1/diff").json()
    assert first["against"] == 0 and first["diff"].startswith("--- /dev/null\n+++ support@v1")
    assert owner.get(f"{BASE}{policy_id}/versions/2/diff", {"against": 2}).json()["diff"] == ""


@pytest.mark.parametrize(
    ("path", "query", "status", "fragment"),
    [
        ("versions/3/diff", {}, 404, "has no version 3"),
        ("versions/2/diff", {"against": 5}, 404, "has no version 5"),
        ("versions/0/diff", {}, 404, "has no version 0"),
        ("versions/2/diff", {"against": "one"}, 400, "against must be a version number"),
        ("versions/2/diff", {"against": -1}, 400, "against must be a version number"),
    ],
)
def test_diff_errors(owner, vault, path, query, status, fragment):
    policy_id = _with_two_versions(owner, vault)
    assert_error(owner.get(f"{BASE}{policy_id}/{path}", query), status, fragment)


# --- delete ---------------------------------------------------------------------------------------


def test_delete_removes_the_policy_and_its_versions(owner, vault):
    policy_id = _with_two_versions(owner, vault)

    response = owner.delete(f"{BASE}{policy_id}/")

    assert response.status_code == 200
    assert response.json() == {"deleted": True, "id": policy_id}
    assert not Policy.objects.filter(pk=policy_id).exists()
    assert not PolicyVersion.objects.filter(policy_id=policy_id).exists()
    event = last_audit_event()
    assert (event.action, json.loads(event.resource_ids), event.vault_id) == (
        "policy.delete",
        [policy_id],
        str(vault.id),
    )
    assert _details(event)["version"] == 2 and _details(event)["detached_from_roles"] == []
    assert_error(owner.get(f"{BASE}{policy_id}/"), 404)
    assert_error(owner.delete(f"{BASE}{policy_id}/"), 404)


def test_every_change_is_in_the_audit_trail_in_order(owner, vault):
    policy_id = _with_two_versions(owner, vault)
    owner.post(f"{BASE}{policy_id}/versions/1/rollback")
    owner.delete(f"{BASE}{policy_id}/")
    assert list(AuditEvent.objects.filter(resource_type="POLICY").order_by("seq").values_list("action", flat=True)) == [
        "policy.create",
        "policy.update",
        "policy.rollback",
        "policy.delete",
    ]
