"""The records browser: the viewer's own policies through the data plane's engine, values masked by
default, reveal with step-up that never gives more than the policy grants, audited; O(1) queries."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.studio_support import login_client, make_person
from tests.vaults.studio.support import (
    MASKED_POLICY,
    PEOPLE,
    PLAIN_POLICY,
    analyst,
    assert_strict_csp,
    grant,
    persons_vault,
)
from vaults.models import Vault

pytestmark = pytest.mark.django_db

PLAINTEXTS = [p[c] for p in PEOPLE for c in ("name", "email", "ssn", "card_number")]


@pytest.fixture
def vault() -> Vault:
    return persons_vault()


def _page(vault: Vault, **query: Any) -> str:
    url = reverse("studio:table_records", kwargs={"vault_id": vault.id, "table": "persons"})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _reveal(vault: Vault, record_id: str) -> str:
    return reverse("studio:record_reveal", kwargs={"vault_id": vault.id, "table": "persons", "record_id": record_id})


def _cells(response: Any, column: str) -> list[Any]:
    return [c for row in response.context["rows"] for c in row["cells"] if c.column == column]


def _no_plaintext(content: bytes) -> None:
    text = content.decode()
    for value in PLAINTEXTS:
        assert value not in text, value


def test_an_analyst_sees_values_masked_by_default_even_with_a_plain_text_grant(client: Any, vault: Vault) -> None:
    login_client(client, analyst("plain@example.com", vault, PLAIN_POLICY))
    response = client.get(_page(vault))
    assert response.status_code == 200
    assert_strict_csp(response)
    assert_strict_csp(client.get(reverse("studio:records")))
    assert len(response.context["rows"]) == 3
    _no_plaintext(response.content)
    assert {c.value for c in _cells(response, "ssn")} == {"***-**-6789", "***-**-7890", "***-**-8901"}
    assert all(c.level == "MASKED" and c.revealable for c in _cells(response, "ssn"))
    assert b"btn-reveal" in response.content
    read = AuditEvent.objects.get(action="record.read")
    assert json.loads(read.details)["redaction"] == "MASKED"


def test_any_studio_member_may_open_the_browser_but_a_person_without_a_role_may_not(client: Any, vault: Vault) -> None:
    login_client(client, make_person("nobody@example.com"))
    assert client.get(reverse("studio:records")).status_code == 403
    assert client.get(_page(vault)).status_code == 403
    client.logout()
    response = client.get(_page(vault))
    assert response.status_code == 302 and response.url.startswith(reverse("studio:login"))


@pytest.mark.parametrize(
    "person",
    [
        {"roles": ("VAULT_OWNER", "ACCOUNT_ADMIN", "AUDITOR")},
        {"superuser": True},
    ],
)
def test_management_roles_and_superuser_give_no_data(client: Any, vault: Vault, person: dict[str, Any]) -> None:
    login_client(client, make_person("admin@example.com", **person))
    response = client.get(_page(vault))
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert not response.context["readable"]
    assert b"Your policies grant no access to this table" in response.content
    _no_plaintext(response.content)
    rows = client.get(reverse("studio:records")).context["vaults"]
    assert rows[0]["tables"] == [{"name": "persons", "readable": False}]
    first = vault.tables.get().records.order_by("created_at").first()
    response = client.post(_reveal(vault, str(first.pk)), {"column": "ssn"})
    _no_plaintext(response.content)


def test_row_conditions_filter_the_rows(client: Any, vault: Vault) -> None:
    policy = "ALLOW READ ON persons.* WITH REDACTION = PLAIN_TEXT WHERE persons.region = 'EU'"
    login_client(client, analyst("eu@example.com", vault, policy))
    response = client.get(_page(vault))
    assert {c.value for c in _cells(response, "region")} == {"*****"}
    assert len(response.context["rows"]) == 2


def test_a_redacted_grant_stays_redacted_and_offers_no_reveal(client: Any, vault: Vault) -> None:
    policy = "ALLOW READ ON persons.ssn WITH REDACTION = REDACTED\nALLOW READ ON persons.region"
    login_client(client, analyst("redacted@example.com", vault, policy))
    response = client.get(_page(vault))
    assert {(c.value, c.level, c.revealable) for c in _cells(response, "ssn")} == {("REDACTED", "REDACTED", False)}
    assert {c.level for c in _cells(response, "email")} == {"NOT_GRANTED"}
    assert b"Reveal ssn" not in response.content
    assert b"Reveal region" in response.content  # region's default level is PLAIN_TEXT


def test_reveal_without_a_recent_mfa_check_goes_to_step_up_and_reveals_nothing(client: Any, vault: Vault) -> None:
    person = analyst("stale@example.com", vault, PLAIN_POLICY)
    login_client(client, person, mfa_recent=False)
    record = vault.tables.get().records.order_by("created_at").first()
    url = _reveal(vault, str(record.pk)) + "?column=ssn&offset=0&limit=25"  # as the page's reveal form posts
    response = client.post(url, {"column": "ssn", "offset": "0", "limit": "25"})
    assert response.status_code == 302
    assert response.url == reverse("studio:step_up") + "?" + urlencode({"next": url})
    assert not AuditEvent.objects.filter(action__in=["record.reveal", "record.read"]).exists()
    # Back from step-up (now recent), the page asks to confirm by GET, and the confirmation reveals.
    login_client(client, person)
    confirm = client.get(url)
    assert b'name="column" value="ssn"' in confirm.content
    _no_plaintext(confirm.content)
    assert not AuditEvent.objects.filter(action="record.reveal").exists()
    response = client.post(url)
    assert [c.value for c in _cells(response, "ssn") if c.revealed] == ["123-45-6789"]
    assert AuditEvent.objects.filter(action="record.reveal").count() == 1


def test_reveal_shows_the_plain_value_and_is_audited(client: Any, vault: Vault) -> None:
    person = analyst("plain@example.com", vault, PLAIN_POLICY)
    login_client(client, person)
    record = vault.tables.get().records.order_by("created_at").first()
    response = client.post(_reveal(vault, str(record.pk)), {"column": "ssn", "offset": "0", "limit": "25"})
    assert response.status_code == 200
    revealed = [c for c in _cells(response, "ssn") if c.revealed]
    assert [(c.value, c.level) for c in revealed] == [("123-45-6789", "PLAIN_TEXT")]
    assert b"123-45-6789" in response.content
    assert b"234-56-7890" not in response.content  # only the one value
    event = AuditEvent.objects.get(action="record.reveal")
    assert event.actor_id == str(person.pk)
    assert json.loads(event.resource_ids) == [str(record.pk)]
    assert json.loads(event.columns) == ["ssn"]
    assert event.decision == "ALLOW"
    assert json.loads(event.details)["redaction"] == "PLAIN_TEXT"


def test_an_analyst_whose_policy_says_masked_never_sees_plain_text(client: Any, vault: Vault) -> None:
    login_client(client, analyst("masked@example.com", vault, MASKED_POLICY))
    response = client.get(_page(vault))
    _no_plaintext(response.content)
    assert b"btn-reveal" not in response.content
    assert not any(c.revealable for row in response.context["rows"] for c in row["cells"])
    record = vault.tables.get().records.order_by("created_at").first()
    for column in ("name", "email", "ssn", "card_number"):
        response = client.post(_reveal(vault, str(record.pk)), {"column": column})
        assert response.status_code == 200
        _no_plaintext(response.content)
        revealed = [c for c in _cells(response, column) if c.revealed]
        assert [c.level for c in revealed] == ["MASKED"]
    assert AuditEvent.objects.filter(action="record.reveal").count() == 4


def test_reveal_of_a_column_the_policy_never_grants_is_refused_and_audited(client: Any, vault: Vault) -> None:
    login_client(client, analyst("partial@example.com", vault, "ALLOW READ ON persons.region"))
    record = vault.tables.get().records.order_by("created_at").first()
    response = client.post(_reveal(vault, str(record.pk)), {"column": "ssn"})
    assert response.status_code == 200
    _no_plaintext(response.content)
    assert "Nothing to reveal" in [str(m) for m in response.context["messages"]][0]
    assert AuditEvent.objects.get(action="record.reveal").decision == "DENY"


def test_reveal_of_an_unknown_record_or_column(client: Any, vault: Vault) -> None:
    login_client(client, analyst("plain@example.com", vault, PLAIN_POLICY))
    assert client.post(_reveal(vault, "not-a-uuid"), {"column": "ssn"}).status_code == 404
    record = vault.tables.get().records.first()
    assert client.post(_reveal(vault, str(record.pk)), {"column": "nope"}).status_code == 404
    missing = "00000000-0000-4000-8000-000000000000"
    response = client.post(_reveal(vault, missing), {"column": "ssn"})
    assert "Nothing to reveal" in [str(m) for m in response.context["messages"]][0]


def test_a_get_of_the_reveal_url_asks_to_confirm_and_reveals_nothing(client: Any, vault: Vault) -> None:
    login_client(client, analyst("plain@example.com", vault, PLAIN_POLICY))
    record = vault.tables.get().records.order_by("created_at").first()
    response = client.get(_reveal(vault, str(record.pk)) + "?column=ssn")
    assert response.status_code == 200
    assert b'name="column" value="ssn"' in response.content
    _no_plaintext(response.content)
    assert not AuditEvent.objects.filter(action="record.reveal").exists()


def test_paging(client: Any) -> None:
    people = [{"name": f"Person {i}", "email": f"p{i}@example.com", "region": "EU"} for i in range(30)]
    vault = persons_vault(people=people)
    login_client(client, analyst("plain@example.com", vault, PLAIN_POLICY))
    first = client.get(_page(vault, limit=25))
    assert len(first.context["rows"]) == 25 and first.context["next_url"] and not first.context["previous_url"]
    second = client.get(first.context["next_url"])
    assert len(second.context["rows"]) == 5 and second.context["previous_url"] and not second.context["next_url"]
    assert not {r["id"] for r in first.context["rows"]} & {r["id"] for r in second.context["rows"]}
    assert len(client.get(_page(vault, offset="-3", limit="7")).context["rows"]) == 25  # bad paging: defaults


def test_the_browser_costs_the_same_queries_for_any_page_size(client: Any, django_assert_max_num_queries: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    people = [{"name": f"Person {i}", "email": f"p{i}@example.com", "region": "EU"} for i in range(60)]
    vault = persons_vault(people=people)
    person = analyst("plain@example.com", vault, PLAIN_POLICY)
    login_client(client, person)
    client.get(_page(vault, limit=25))  # warm the per-process plan caches like any running server
    counts = []
    for limit in (25, 50):
        with CaptureQueriesContext(connection) as queries:
            assert len(client.get(_page(vault, limit=limit)).context["rows"]) == limit
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(20):
        client.get(_page(vault, limit=100))


def test_the_index_lists_tables_with_the_viewers_access(client: Any, vault: Vault) -> None:
    other = persons_vault(people=[])
    person = make_person("someone@example.com")
    grant(person, vault, MASKED_POLICY)
    login_client(client, person)
    listed = {e["vault"].name: e["tables"] for e in client.get(reverse("studio:records")).context["vaults"]}
    assert listed[vault.name] == [{"name": "persons", "readable": True}]
    assert listed[other.name] == [{"name": "persons", "readable": False}]


def test_an_unknown_vault_or_table_is_404(client: Any, vault: Vault) -> None:
    login_client(client, analyst("plain@example.com", vault, PLAIN_POLICY))
    assert (
        client.get(reverse("studio:table_records", kwargs={"vault_id": vault.id, "table": "nope"})).status_code == 404
    )
    missing = "00000000-0000-4000-8000-000000000000"
    assert (
        client.get(reverse("studio:table_records", kwargs={"vault_id": missing, "table": "persons"})).status_code == 404
    )


def _ssn_token(vault: Vault, ssn: str) -> str:
    """The token of ``ssn`` (records are created in the order of PEOPLE)."""
    from vaults.models import Token

    index = [p["ssn"] for p in PEOPLE].index(ssn)
    record = vault.tables.get().records.order_by("created_at")[index]
    return Token.objects.get(record=record, column__name="ssn").token


def test_detokenize_needs_step_up(client: Any, vault: Vault) -> None:
    person = analyst("plain@example.com", vault, "ALLOW DETOKENIZATION ON persons.ssn WITH REDACTION = PLAIN_TEXT")
    login_client(client, person, mfa_recent=False)
    url = reverse("studio:detokenize", kwargs={"vault_id": vault.id})
    for response in (client.get(url), client.post(url, {"tokens": _ssn_token(vault, "123-45-6789")})):
        assert response.status_code == 302 and response.url.startswith(reverse("studio:step_up"))
    assert not AuditEvent.objects.filter(action="token.detokenize").exists()


def test_detokenize_gives_at_most_the_policys_level_and_is_audited(client: Any, vault: Vault) -> None:
    plain = analyst("plain@example.com", vault, "ALLOW DETOKENIZATION ON persons.ssn WITH REDACTION = PLAIN_TEXT")
    token = _ssn_token(vault, "123-45-6789")
    url = reverse("studio:detokenize", kwargs={"vault_id": vault.id})
    login_client(client, plain)
    response = client.get(url)
    assert response.status_code == 200
    assert_strict_csp(response)
    response = client.post(url, {"tokens": f"{token}\nno-such-token\n"})
    results = {r.token: r for r in response.context["results"]}
    assert results[token].value == "123-45-6789"
    assert results["no-such-token"].error == "Token Not Found"
    event = AuditEvent.objects.get(action="token.detokenize")
    assert event.actor_id == str(plain.pk) and event.record_count == 1

    login_client(
        client, analyst("masked@example.com", vault, "ALLOW DETOKENIZATION ON persons.ssn WITH REDACTION = MASKED")
    )
    response = client.post(url, {"tokens": token})
    assert [r.value for r in response.context["results"]] == ["***-**-6789"]
    _no_plaintext(response.content)

    login_client(client, analyst("reader@example.com", vault, PLAIN_POLICY))  # READ is not DETOKENIZATION
    response = client.post(url, {"tokens": token})
    assert [r.error for r in response.context["results"]] == ["Token Not Found"]
    _no_plaintext(response.content)


def test_detokenize_form_errors(client: Any, vault: Vault) -> None:
    login_client(client, analyst("plain@example.com", vault, PLAIN_POLICY))
    url = reverse("studio:detokenize", kwargs={"vault_id": vault.id})
    assert client.post(url, {"tokens": "  \n"}).context["form"].errors["tokens"]
    many = "\n".join(f"t{i}" for i in range(26))
    assert "At most 25" in str(client.post(url, {"tokens": many}).context["form"].errors["tokens"])
    assert not AuditEvent.objects.filter(action="token.detokenize").exists()
