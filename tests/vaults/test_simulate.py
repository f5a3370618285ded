"""POST /api/v1/simulate answers from the same engine the data plane enforces."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

POLICY = (
    "ALLOW READ ON persons.name, persons.region WITH REDACTION = PLAIN_TEXT WHERE persons.region = 'EU'\n"
    "ALLOW READ ON persons.ssn WITH REDACTION = MASKED\n"
    "DENY READ ON persons.ssn WHERE persons.vip = TRUE"
)


@pytest.fixture
def owner(api, service_account_factory, token_for):
    _, _, creds = service_account_factory(roles=("VAULT_OWNER",))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(creds)}")
    return api


def test_simulate_a_service_account(owner, persons_vault, caller_with):
    subject = caller_with(persons_vault, POLICY).account
    response = owner.post(
        "/api/v1/simulate",
        {
            "principal": {"service_account": str(subject.client_id)},
            "vault": str(persons_vault.id),
            "action": "READ",
            "table": "persons",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body["columns"]) == {"name", "region", "ssn"}
    ssn = body["columns"]["ssn"]
    assert [grant["level"] for grant in ssn["levels"]] == ["MASKED"]
    assert ssn["condition"] != {"const": True}  # the DENY on vip is folded in as NOT
    assert {ref["line"] for ref in body["statements"]} == {1, 2, 3}


def test_simulate_with_context_and_redaction(owner, persons_vault, caller_with):
    subject = caller_with(persons_vault, "ALLOW READ ON persons.name WHERE request.context.team = 'red'").account
    ask = {
        "principal": {"service_account": str(subject.client_id)},
        "vault": str(persons_vault.id),
        "action": "READ",
        "table": "persons",
    }
    assert owner.post("/api/v1/simulate", {**ask, "context": {"team": "red"}}, format="json").json()["columns"]
    assert owner.post("/api/v1/simulate", {**ask, "context": {"team": "blue"}}, format="json").json()["columns"] == {}


def test_a_principal_without_policies_gets_nothing(owner, persons_vault, service_account_factory):
    account, _, _ = service_account_factory()
    body = owner.post(
        "/api/v1/simulate",
        {
            "principal": {"service_account": str(account.client_id)},
            "vault": str(persons_vault.id),
            "action": "READ",
            "table": "persons",
        },
        format="json",
    ).json()
    assert body["columns"] == {} and body["allowed"] is False


@pytest.mark.parametrize(
    "change, field",
    [
        ({"principal": {"service_account": "00000000-0000-4000-8000-000000000000"}}, "principal.service_account"),
        ({"principal": {"user": "nobody@example.com"}}, "principal.user"),
        ({"principal": {}}, "principal"),
        ({"table": "nope"}, "table"),
        ({"vault": "00000000-0000-4000-8000-000000000000"}, "vault"),
        ({"action": "FLY"}, "action"),
    ],
)
def test_bad_questions_are_400(owner, persons_vault, service_account_factory, change, field):
    account, _, _ = service_account_factory()
    ask = {
        "principal": {"service_account": str(account.client_id)},
        "vault": str(persons_vault.id),
        "action": "READ",
        "table": "persons",
        **change,
    }
    response = owner.post("/api/v1/simulate", ask, format="json")
    assert response.status_code == 400, response.content
    assert any(d["field"] == field for d in response.json()["error"]["details"])


def test_only_vault_owners_simulate(api, service_account_factory, token_for, persons_vault):
    _, _, creds = service_account_factory(roles=("AUDITOR",))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(creds)}")
    assert api.post("/api/v1/simulate", {}, format="json").status_code == 403
    api.credentials()
    assert api.post("/api/v1/simulate", {}, format="json").status_code == 401
