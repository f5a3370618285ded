"""The PDP: a principal's policy set per vault, cached, and rebuilt on the very next request after a
policy, role, binding or schema change — and when a binding expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.principals import ServiceAccountPrincipal
from policies import pdp
from policies.language import compile_policy
from policies.models import Policy, Role
from policies.services import binding_create, bump_policy_version, role_create
from vaults.schema import parse_schema
from vaults.selectors import schema_info
from vaults.services import vault_create

pytestmark = pytest.mark.django_db

SCHEMA = {
    "tables": [
        {
            "name": "persons",
            "columns": [
                {"name": "name", "encrypted": False},
                {"name": "ssn", "data_type": "ssn", "searchable": True},
                {"name": "region", "encrypted": False},
            ],
        }
    ]
}


@pytest.fixture
def setup(actor, service_account_factory):
    vault = vault_create(actor=actor, name="pdp", schema=parse_schema(SCHEMA))
    account, key, _ = service_account_factory()
    caller = ServiceAccountPrincipal(service_account=account, key=key, claims={"ctx": {"agent": "a1"}})
    return vault, account, caller


def make_policy(vault, source, name="p"):
    result = compile_policy(source, schema_info(vault))
    assert result.ok, result.errors
    return Policy.objects.create(name=name, vault=vault, source=source, compiled=result.compiled.to_json())


def grant(actor, account, policy, **binding):
    role = role_create(actor=actor, name=f"role-{policy.name}")
    role.policies.add(policy)
    return binding_create(actor=actor, role=role, service_account=account, **binding)


def columns(caller, vault):
    return sorted(pdp.decide_for(caller, vault, "READ", "persons").columns)


def test_no_policy_no_columns_even_for_a_superuser_owned_account(setup, actor):
    from accounts.models import User

    vault, account, caller = setup
    account.owners.add(User.objects.create_superuser("root@example.com", "x" * 16))
    binding_create(actor=actor, role=Role.objects.get(name="ACCOUNT_ADMIN"), service_account=account)
    decision = pdp.decide_for(caller, vault, "READ", "persons")
    assert decision.columns == {} and not decision.allowed


def test_a_change_applies_on_the_next_request(setup, actor, django_capture_on_commit_callbacks):
    vault, account, caller = setup
    with django_capture_on_commit_callbacks(execute=True):
        policy = make_policy(vault, "ALLOW READ ON persons.name WITH REDACTION = PLAIN_TEXT")
        grant(actor, account, policy)
    assert columns(caller, vault) == ["name"]
    with django_capture_on_commit_callbacks(execute=True):
        policy.source = "ALLOW READ ON persons.name, persons.region"
        policy.compiled = compile_policy(policy.source, schema_info(vault)).compiled.to_json()
        policy.save()
        bump_policy_version()
    assert columns(caller, vault) == ["name", "region"]


def test_without_a_version_bump_the_cache_holds(setup, actor, django_capture_on_commit_callbacks):
    vault, account, caller = setup
    with django_capture_on_commit_callbacks(execute=True):
        policy = make_policy(vault, "ALLOW READ ON persons.name")
        grant(actor, account, policy)
    assert columns(caller, vault) == ["name"]
    Policy.objects.filter(pk=policy.pk).update(
        compiled=compile_policy("ALLOW READ ON persons.*", schema_info(vault)).compiled.to_json()
    )
    assert columns(caller, vault) == ["name"]  # cached: nothing said it changed


def test_inactive_policies_and_other_vaults_do_not_count(setup, actor, django_capture_on_commit_callbacks):
    vault, account, caller = setup
    other = vault_create(actor=actor, name="other", schema=parse_schema(SCHEMA))
    with django_capture_on_commit_callbacks(execute=True):
        grant(actor, account, make_policy(other, "ALLOW READ ON persons.*", name="elsewhere"))
        inactive = make_policy(vault, "ALLOW READ ON persons.*", name="off")
        inactive.status = Policy.INACTIVE
        inactive.save()
        grant(actor, account, inactive)
    assert columns(caller, vault) == []
    assert columns(caller, other) == ["name", "region", "ssn"]


def test_an_expired_binding_stops_granting_without_a_bump(
    setup, actor, django_capture_on_commit_callbacks, monkeypatch
):
    vault, account, caller = setup
    with django_capture_on_commit_callbacks(execute=True):
        grant(
            actor,
            account,
            make_policy(vault, "ALLOW READ ON persons.name"),
            expires_at=timezone.now() + timedelta(hours=1),
        )
    assert columns(caller, vault) == ["name"]
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert columns(caller, vault) == []


def test_narrowed_token_keeps_only_its_roles(setup, actor, django_capture_on_commit_callbacks):
    vault, account, _ = setup
    with django_capture_on_commit_callbacks(execute=True):
        first = grant(actor, account, make_policy(vault, "ALLOW READ ON persons.name", name="a"))
        grant(actor, account, make_policy(vault, "ALLOW READ ON persons.region", name="b"))
    key = account.keys.first()
    narrowed = ServiceAccountPrincipal(service_account=account, key=key, claims={"roles": [str(first.role_id)]})
    assert columns(narrowed, vault) == ["name"]


def test_request_context_comes_from_ctx(setup, actor, django_capture_on_commit_callbacks):
    vault, account, caller = setup
    with django_capture_on_commit_callbacks(execute=True):
        grant(actor, account, make_policy(vault, "ALLOW READ ON persons.name WHERE request.context.agent = 'a1'"))
    assert columns(caller, vault) == ["name"]
    other = ServiceAccountPrincipal(service_account=account, key=caller.key, claims={"ctx": {"agent": "zz"}})
    assert columns(other, vault) == []
    assert pdp.context_of(ServiceAccountPrincipal(service_account=account, key=caller.key, claims={"ctx": "s"})) == {
        "value": "s"
    }


def test_a_schema_change_rebuilds_the_set(setup, actor, django_capture_on_commit_callbacks):
    from vaults.services import vault_schema_update

    vault, account, caller = setup
    with django_capture_on_commit_callbacks(execute=True):
        grant(actor, account, make_policy(vault, "ALLOW READ ON persons.*"))
    assert columns(caller, vault) == ["name", "region", "ssn"]
    grown = {"tables": [{"name": "persons", "columns": [*SCHEMA["tables"][0]["columns"], {"name": "email"}]}]}
    with django_capture_on_commit_callbacks(execute=True):
        vault_schema_update(actor=actor, vault=vault, schema=parse_schema(grown))
    assert columns(caller, vault) == ["email", "name", "region", "ssn"]
