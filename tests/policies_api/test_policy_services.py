"""The policy services below the API: each change bumps the shared policy version key once it commits,
a refused change bumps nothing, and roles carry policies only when they are custom roles."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from policies.models import Policy, PolicyVersion, Role
from policies.services import (
    policy_create,
    policy_delete,
    policy_rollback,
    policy_update,
    policy_validate,
    policy_version,
    role_create,
    role_update,
    source_digest,
)
from vaultstudio.errors import BadRequest, NotFound

from .conftest import SKYFLOW_EXAMPLE, V1_SOURCE, V2_SOURCE

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a change and its on-commit callbacks; return how far the policy version key moved."""

    def run(change):
        before = policy_version()
        with django_capture_on_commit_callbacks(execute=True):
            result = change()
        return policy_version() - before, result

    return run


def test_create_bumps_the_version_key_after_commit(actor, vault, django_capture_on_commit_callbacks):
    before = policy_version()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        policy_create(actor=actor, vault=vault, name="p", source=V1_SOURCE)
    # Inside the transaction nothing moved: a worker must not rebuild before the change is visible.
    assert policy_version() == before and len(callbacks) == 1
    callbacks[0]()
    assert policy_version() == before + 1


def test_every_policy_change_bumps_the_version_key(actor, vault, committed):
    moved, policy = committed(lambda: policy_create(actor=actor, vault=vault, name="p", source=V1_SOURCE))
    assert moved == 1
    assert committed(lambda: policy_update(actor=actor, policy=policy, source=V2_SOURCE))[0] == 1
    assert committed(lambda: policy_update(actor=actor, policy=policy, status="INACTIVE"))[0] == 1
    assert committed(lambda: policy_rollback(actor=actor, policy=policy, version=1))[0] == 1
    assert committed(lambda: policy_delete(actor=actor, policy=policy))[0] == 1


def test_no_change_and_refused_changes_bump_nothing(actor, vault, committed):
    policy = policy_create(actor=actor, vault=vault, name="p", source=V1_SOURCE)
    assert committed(lambda: policy_update(actor=actor, policy=policy, source=V1_SOURCE, name="p"))[0] == 0
    assert committed(lambda: policy_rollback(actor=actor, policy=policy, version=1))[0] == 0

    def refused(change):
        def run():
            with pytest.raises((BadRequest, NotFound)):
                change()

        return run

    assert committed(refused(lambda: policy_update(actor=actor, policy=policy, source="ALLOW FLY")))[0] == 0
    assert committed(refused(lambda: policy_rollback(actor=actor, policy=policy, version=5)))[0] == 0
    assert committed(refused(lambda: policy_create(actor=actor, vault=vault, name="q", source="DENY")))[0] == 0
    assert policy_validate(vault=vault, source="ALLOW FLY")[0]["column"] == 7


def test_role_changes_with_policies_bump_the_version_key(actor, vault, committed):
    policy = policy_create(actor=actor, vault=vault, name="p", source=SKYFLOW_EXAMPLE)
    moved, role = committed(lambda: role_create(actor=actor, name="eu", policies=[policy]))
    assert moved == 1 and list(role.policies.all()) == [policy]
    moved, role = committed(lambda: role_update(actor=actor, role=role, policies=[]))
    assert moved == 1 and not role.policies.exists()


def test_service_input_is_checked_without_a_serializer(actor, vault):
    with pytest.raises(BadRequest, match="status must be ACTIVE or INACTIVE"):
        policy_create(actor=actor, vault=vault, name="p", source=V1_SOURCE, status="on")
    with pytest.raises(BadRequest, match="name must be"):
        policy_create(actor=actor, vault=vault, name="  ", source=V1_SOURCE)
    with pytest.raises(BadRequest, match="source must be the policy text"):
        policy_create(actor=actor, vault=vault, name="p", source=None)
    assert not Policy.objects.exists()


def test_error_message_names_the_first_errors_and_counts_the_rest(actor, vault):
    source = "\n".join(f"ALLOW READ ON persons.missing{i}" for i in range(5))
    with pytest.raises(BadRequest) as raised:
        policy_create(actor=actor, vault=vault, name="p", source=source)
    assert raised.value.message.startswith("The policy has 5 error(s): line 1, column 15:")
    assert "; and 2 more." in raised.value.message and "line 4" not in raised.value.message
    assert [d["line"] for d in raised.value.details] == [1, 2, 3, 4, 5]


def test_audit_details_identify_the_text_by_its_hash_never_repeat_it(actor, vault):
    policy = policy_create(actor=actor, vault=vault, name="p", source=V1_SOURCE)
    policy_update(actor=actor, policy=policy, source=V2_SOURCE)
    events = AuditEvent.objects.filter(resource_type="POLICY").order_by("seq")
    assert [json.loads(e.details)["source_sha256"] for e in events] == [
        source_digest(V1_SOURCE),
        source_digest(V2_SOURCE),
    ]
    for event in events:
        assert "ALLOW READ" not in event.details and "persons." not in event.details


def test_deleting_a_policy_detaches_it_from_its_roles(actor, vault):
    policy = policy_create(actor=actor, vault=vault, name="p", source=V1_SOURCE)
    role = role_create(actor=actor, name="agents", policies=[policy])
    policy_delete(actor=actor, policy=policy)
    assert not role.policies.exists()
    event = AuditEvent.objects.order_by("-seq").first()
    assert json.loads(event.details)["detached_from_roles"] == [str(role.id)]
    assert not PolicyVersion.objects.exists()


def test_any_policy_may_go_on_any_custom_role(actor, vault, vault_factory):
    here = policy_create(actor=actor, vault=vault, name="here", source=V1_SOURCE)
    there = policy_create(actor=actor, vault=vault_factory("other"), name="there", source=V1_SOURCE)
    role = role_create(actor=actor, name="both", policies=[here, there, here])
    assert set(role.policies.all()) == {here, there}
    assert json.loads(AuditEvent.objects.order_by("-seq").first().details)["policies"] == sorted(
        [str(here.id), str(there.id)]
    )


@pytest.mark.parametrize("name", ["ACCOUNT_ADMIN", "VAULT_OWNER", "AUDITOR"])
def test_builtin_roles_carry_no_policies(actor, vault, name):
    policy = policy_create(actor=actor, vault=vault, name="p", source=V1_SOURCE)
    role = Role.objects.get(name=name)
    with pytest.raises(BadRequest, match="grants management rights only"):
        role_update(actor=actor, role=role, policies=[policy])
    assert not role.policies.exists()
    # An empty list is what a built-in role has: accepted.
    role_update(actor=actor, role=role, policies=[])
