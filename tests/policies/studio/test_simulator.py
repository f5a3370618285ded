"""The simulator page answers from ``decide_for`` — what the data plane would enforce — per column:
level, row condition and the deciding statement with its text."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from accounts.services import service_account_create
from tests.studio_support import login_client, make_person
from tests.vaults.studio.support import ACTOR, analyst, assert_strict_csp, grant, persons_vault
from vaults.models import Vault

pytestmark = pytest.mark.django_db

POLICY = (
    "ALLOW READ ON persons.name, persons.region WITH REDACTION = PLAIN_TEXT WHERE persons.region = 'EU'\n"
    "ALLOW READ ON persons.ssn WITH REDACTION = MASKED\n"
    "DENY READ ON persons.ssn WHERE persons.vip = TRUE\n"
)


@pytest.fixture
def vault() -> Vault:
    return persons_vault(people=[])


@pytest.fixture
def owner(client: Any) -> Any:
    person = make_person("owner@example.com", roles=("VAULT_OWNER",))
    login_client(client, person)
    return person


def _ask(client: Any, vault: Vault, principal: str, **fields: str) -> Any:
    query = {"principal": principal, "target": f"{vault.id}:persons", "action": "READ", "redaction": "DEFAULT"}
    query.update(fields)
    return client.get(reverse("studio:simulate") + "?" + urlencode(query))


def test_simulate_a_person(client: Any, owner: Any, vault: Vault) -> None:
    subject = analyst("analyst@example.com", vault, POLICY)
    response = _ask(client, vault, f"user:{subject.pk}", redaction="PLAIN_TEXT")
    assert response.status_code == 200
    assert_strict_csp(response)
    answer = response.context["answer"]
    assert answer["allowed"]
    columns = {c["name"]: c for c in answer["columns"]}
    assert set(columns) == {"name", "region", "ssn"}
    assert columns["name"]["levels"] == [{"level": "PLAIN_TEXT", "condition": "persons.region = 'EU'"}]
    assert columns["ssn"]["condition"] == "NOT persons.vip = TRUE"
    statements = {(s["line"], s["effect"]) for s in columns["ssn"]["statements"]}
    assert statements == {(2, "ALLOW"), (3, "DENY")}
    assert columns["ssn"]["statements"][0]["text"].startswith(("ALLOW READ ON persons.ssn", "DENY READ"))
    content = response.content.decode()
    default = _ask(client, vault, f"user:{subject.pk}").context["answer"]  # DEFAULT: capped at name's MASKED
    assert default["columns"][0]["levels"][0]["level"] == "MASKED"
    assert (
        "persons.region = &#x27;EU&#x27;" in content and "DENY READ ON persons.ssn WHERE persons.vip = TRUE" in content
    )


def test_simulate_redaction_columns_and_context(client: Any, owner: Any, vault: Vault) -> None:
    subject = analyst("ctx@example.com", vault, "ALLOW READ ON persons.name WHERE request.context.team = 'red'")
    principal = f"user:{subject.pk}"
    assert _ask(client, vault, principal).context["answer"]["columns"] == []
    red = _ask(client, vault, principal, context='{"team": "red"}').context["answer"]
    assert [c["name"] for c in red["columns"]] == ["name"]
    capped = _ask(client, vault, principal, context='{"team": "red"}', redaction="REDACTED").context["answer"]
    assert capped["columns"][0]["levels"][0]["level"] == "REDACTED"
    asked = _ask(client, vault, principal, context='{"team": "red"}', columns="name, ssn, nope").context["answer"]
    assert asked["denied_columns"] == ["ssn"] and asked["unknown_columns"] == ["nope"]


def test_simulate_a_service_account(client: Any, owner: Any, vault: Vault) -> None:
    from policies.services import binding_create, policy_create, role_create

    account = service_account_create(actor=ACTOR, name="billing")
    policy = policy_create(actor=ACTOR, vault=vault, name="sa", source="ALLOW CREATE ON persons.email")
    binding_create(
        actor=ACTOR, role=role_create(actor=ACTOR, name="writers", policies=[policy]), service_account=account
    )
    answer = _ask(client, vault, f"sa:{account.pk}", action="CREATE").context["answer"]
    assert [c["name"] for c in answer["columns"]] == ["email"]
    assert answer["columns"][0]["levels"] == []


def test_bad_questions_are_form_errors(client: Any, owner: Any, vault: Vault) -> None:
    subject = make_person("x@example.com")
    grant(subject, vault, "ALLOW READ ON persons.name")
    response = _ask(client, vault, f"user:{subject.pk}", context="[1, 2")
    assert response.context["answer"] is None and response.context["form"].errors["context"]
    response = _ask(client, vault, f"user:{subject.pk}", context="[1, 2]")
    assert response.context["form"].errors["context"]
    response = _ask(client, vault, "user:00000000-0000-4000-8000-000000000000")
    assert response.context["form"].errors["principal"]
    response = _ask(client, vault, f"user:{subject.pk}", target="00000000-0000-4000-8000-000000000000:persons")
    assert response.context["form"].errors["target"]


def test_the_simulator_is_for_vault_owners_of_that_vault(client: Any, vault: Vault) -> None:
    from policies.models import Role, RoleBinding

    login_client(client, make_person("auditor@example.com", roles=("AUDITOR",)))
    assert client.get(reverse("studio:simulate")).status_code == 403
    other = persons_vault(people=[])
    scoped = make_person("scoped@example.com")
    RoleBinding.objects.create(role=Role.objects.get(name="VAULT_OWNER"), user=scoped, vault_id=other.id)
    login_client(client, scoped)
    response = _ask(client, vault, f"user:{scoped.pk}")
    assert response.context["form"].errors["target"]
