"""The policy editor pages: VAULT_OWNER only, step-up to edit, errors with line and column (on save and
as you type), versions with a diff between any two, rollback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from policies.models import Policy, Role, RoleBinding
from tests.studio_support import login_client, make_person
from tests.vaults.studio.support import (
    ACTOR,
    MASKED_POLICY,
    PLAIN_POLICY,
    analyst,
    assert_strict_csp,
    persons_vault,
    policy_of,
)
from vaults.models import Vault

pytestmark = pytest.mark.django_db

BROKEN = "ALLOW READ ON persons.name\nALLOW READ ON persons.nope WITH REDACTION = MASKED\nALLOW SING ON persons.*\n"


@pytest.fixture
def vault() -> Vault:
    return persons_vault(people=[])


@pytest.fixture
def policy(vault: Vault) -> Policy:
    return policy_of(vault, "support", MASKED_POLICY)


@pytest.fixture
def owner(client: Any) -> Any:
    person = make_person("owner@example.com", roles=("VAULT_OWNER",))
    login_client(client, person)
    return person


def _pages(policy: Policy) -> dict[str, bool]:
    """Every policy page → whether it needs step-up."""
    kw = {"policy_id": policy.id}
    return {
        reverse("studio:policies"): False,
        reverse("studio:policy_versions", kwargs=kw): False,
        reverse("studio:simulate"): False,
        reverse("studio:policy_create"): True,
        reverse("studio:policy_edit", kwargs=kw): True,
        reverse("studio:policy_delete", kwargs=kw): True,
    }


def test_a_vault_owner_with_a_recent_mfa_check_opens_every_page(client: Any, owner: Any, policy: Policy) -> None:
    for url in _pages(policy):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_csp(response)


@pytest.mark.parametrize("roles", [("AUDITOR",), ("ACCOUNT_ADMIN",)])
def test_other_roles_cannot_reach_the_policy_editor(client: Any, policy: Policy, roles: tuple[str, ...]) -> None:
    login_client(client, make_person("other@example.com", roles=roles))
    for url in [*_pages(policy), reverse("studio:policy_validate")]:
        assert client.get(url).status_code == 403, url
    edit = reverse("studio:policy_edit", kwargs={"policy_id": policy.id})
    assert client.post(edit, {"name": "x", "status": "ACTIVE", "source": ""}).status_code == 403
    assert client.post(reverse("studio:policy_validate"), "{}", content_type="application/json").status_code == 403
    assert Policy.objects.get(pk=policy.pk).version == 1


def test_an_analyst_cannot_reach_the_policy_editor(client: Any, vault: Vault, policy: Policy) -> None:
    login_client(client, analyst("analyst@example.com", vault, PLAIN_POLICY))
    for url in _pages(policy):
        assert client.get(url).status_code == 403, url


def test_editing_needs_step_up(client: Any, policy: Policy) -> None:
    login_client(client, make_person("owner@example.com", roles=("VAULT_OWNER",)), mfa_recent=False)
    for url, needs_step_up in _pages(policy).items():
        response = client.get(url)
        if needs_step_up:
            assert response.status_code == 302, url
            assert response.url == reverse("studio:step_up") + "?next=" + url.replace("/", "%2F"), url
        else:
            assert response.status_code == 200, url
    edit = reverse("studio:policy_edit", kwargs={"policy_id": policy.id})
    response = client.post(edit, {"name": "support", "status": "ACTIVE", "source": PLAIN_POLICY})
    assert response.url.startswith(reverse("studio:step_up"))
    rollback = reverse("studio:policy_rollback", kwargs={"policy_id": policy.id})
    assert client.post(rollback, {"version": "1"}).url.startswith(reverse("studio:step_up"))
    assert Policy.objects.get(pk=policy.pk).source == MASKED_POLICY
    assert not AuditEvent.objects.filter(action__startswith="policy.").exclude(action="policy.create").exists()


def test_create_a_policy(client: Any, owner: Any, vault: Vault) -> None:
    response = client.post(
        reverse("studio:policy_create"),
        {"vault": str(vault.id), "name": "analysts", "status": "ACTIVE", "source": PLAIN_POLICY},
    )
    created = Policy.objects.get(vault=vault, name="analysts")
    assert response.url == reverse("studio:policy_edit", kwargs={"policy_id": created.id})
    assert (created.version, created.source) == (1, PLAIN_POLICY)
    assert AuditEvent.objects.get(action="policy.create", actor_id=str(owner.pk))


def test_a_policy_with_errors_is_not_saved_and_each_error_has_its_line_and_column(
    client: Any, owner: Any, vault: Vault
) -> None:
    response = client.post(
        reverse("studio:policy_create"),
        {"vault": str(vault.id), "name": "broken", "status": "ACTIVE", "source": BROKEN},
    )
    assert response.status_code == 200
    errors = response.context["errors"]
    assert {e["line"] for e in errors} == {2, 3}
    assert all(e["column"] > 0 for e in errors)
    content = response.content.decode()
    for e in errors:
        assert f"line {e['line']}, column {e['column']}:" in content
    # The editor's script marks the same errors (their lines) from this non-executable JSON.
    data = content.split('id="policy-errors-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(data) == errors
    assert not Policy.objects.filter(name="broken").exists()
    assert not AuditEvent.objects.filter(action="policy.create").exists()


def test_a_taken_name_is_an_error_on_the_name(client: Any, owner: Any, vault: Vault, policy: Policy) -> None:
    response = client.post(
        reverse("studio:policy_create"),
        {"vault": str(vault.id), "name": policy.name, "status": "ACTIVE", "source": PLAIN_POLICY},
    )
    assert "already has a policy" in str(response.context["form"].errors["name"])
    assert Policy.objects.filter(vault=vault).count() == 1


def test_the_validation_endpoint_answers_with_line_and_column(client: Any, owner: Any, vault: Vault) -> None:
    url = reverse("studio:policy_validate")
    body = client.post(url, json.dumps({"vault": str(vault.id), "source": BROKEN}), content_type="application/json")
    assert body.status_code == 200
    answer = body.json()
    assert answer["valid"] is False
    assert [(e["line"], e["column"]) for e in answer["errors"]] == [(2, 15), (3, 7)]
    assert "nope" in answer["errors"][0]["message"]
    ok = client.post(url, json.dumps({"vault": str(vault.id), "source": PLAIN_POLICY}), content_type="application/json")
    assert ok.json() == {"valid": True, "errors": []}
    assert client.post(url, "nonsense", content_type="application/json").status_code == 400
    assert client.get(url).status_code == 405
    assert not AuditEvent.objects.filter(action__startswith="policy.").exists()


def test_the_validation_endpoint_uses_csrf(owner: Any, vault: Vault) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    login_client(strict, owner)
    body = json.dumps({"vault": str(vault.id), "source": PLAIN_POLICY})
    response = strict.post(reverse("studio:policy_validate"), body, content_type="application/json")
    assert response.status_code == 403


def test_an_owner_of_one_vault_sees_only_its_policies(client: Any, vault: Vault, policy: Policy) -> None:
    other = persons_vault(people=[])
    theirs = policy_of(other, "theirs", MASKED_POLICY)
    person = make_person("scoped@example.com")
    RoleBinding.objects.create(role=Role.objects.get(name="VAULT_OWNER"), user=person, vault_id=vault.id)
    login_client(client, person)
    assert [p.name for p in client.get(reverse("studio:policies")).context["policies"]] == ["support"]
    for name in ("policy_edit", "policy_versions", "policy_delete"):
        assert client.get(reverse(f"studio:{name}", kwargs={"policy_id": theirs.id})).status_code == 404
    body = json.dumps({"vault": str(other.id), "source": PLAIN_POLICY})
    assert client.post(reverse("studio:policy_validate"), body, content_type="application/json").status_code == 404
    response = client.post(
        reverse("studio:policy_create"), {"vault": str(other.id), "name": "x", "status": "ACTIVE", "source": ""}
    )
    assert response.context["form"].errors["vault"]
    assert not Policy.objects.filter(name="x").exists()


def test_edit_makes_a_version_and_the_diff_shows_it(client: Any, owner: Any, policy: Policy) -> None:
    edit = reverse("studio:policy_edit", kwargs={"policy_id": policy.id})
    response = client.post(edit, {"name": "support", "status": "ACTIVE", "source": PLAIN_POLICY})
    assert response.url == edit
    policy.refresh_from_db()
    assert (policy.version, policy.source) == (2, PLAIN_POLICY)
    assert AuditEvent.objects.filter(action="policy.update").count() == 1
    # A save that changes nothing makes no version.
    client.post(edit, {"name": "support", "status": "ACTIVE", "source": PLAIN_POLICY})
    policy.refresh_from_db()
    assert policy.version == 2
    versions = reverse("studio:policy_versions", kwargs={"policy_id": policy.id})
    diff = client.get(versions).context["diff"]  # default: the current version against the one before
    assert ("del", "-ALLOW READ ON persons.* WITH REDACTION = MASKED") in diff
    assert ("add", "+ALLOW READ ON persons.* WITH REDACTION = PLAIN_TEXT") in diff
    content = client.get(versions + "?a=0&b=1").content.decode()
    assert '<span class="add">+ALLOW READ ON persons.* WITH REDACTION = MASKED</span>' in content
    assert client.get(versions + "?a=2&b=2").context["diff"] == []
    response = client.get(versions + "?a=7&b=1")
    assert response.context["diff"] is None and response.context["form"].non_field_errors()


def test_a_broken_edit_keeps_the_current_version(client: Any, owner: Any, policy: Policy) -> None:
    edit = reverse("studio:policy_edit", kwargs={"policy_id": policy.id})
    response = client.post(edit, {"name": "support", "status": "ACTIVE", "source": BROKEN})
    assert response.status_code == 200
    assert {e["line"] for e in response.context["errors"]} == {2, 3}
    policy.refresh_from_db()
    assert (policy.version, policy.source) == (1, MASKED_POLICY)


def test_rollback(client: Any, owner: Any, policy: Policy) -> None:
    from policies.services import policy_update

    policy_update(actor=ACTOR, policy=policy, source=PLAIN_POLICY)
    rollback = reverse("studio:policy_rollback", kwargs={"policy_id": policy.id})
    response = client.post(rollback, {"version": "1"})
    assert response.url == reverse("studio:policy_versions", kwargs={"policy_id": policy.id})
    policy.refresh_from_db()
    assert (policy.version, policy.source) == (3, MASKED_POLICY)
    event = AuditEvent.objects.get(action="policy.rollback")
    assert event.actor_id == str(owner.pk) and json.loads(event.details)["rolled_back_to"] == 1
    client.post(rollback, {"version": "9"})
    client.post(rollback, {"version": "x"})
    policy.refresh_from_db()
    assert policy.version == 3


def test_delete_a_policy(client: Any, owner: Any, policy: Policy) -> None:
    url = reverse("studio:policy_delete", kwargs={"policy_id": policy.id})
    assert client.post(url).url == reverse("studio:policies")
    assert not Policy.objects.filter(pk=policy.pk).exists()
    assert AuditEvent.objects.filter(action="policy.delete").exists()
