"""The vault pages and the schema editor: who may open them, and that every column option of
DESIGN.md §7 reaches the schema through ``vault_schema_update`` — or is refused with its error on the
field, nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from policies.models import Role, RoleBinding
from tests.studio_support import login_client, make_person
from tests.vaults.studio.support import MASKED_POLICY, analyst, assert_strict_csp, persons_vault
from vaults.models import Column, Table, Vault
from vaults.selectors import vault_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def vault() -> Vault:
    return persons_vault()


@pytest.fixture
def owner(client: Any) -> Any:
    person = make_person("owner@example.com", roles=("VAULT_OWNER",))
    login_client(client, person)
    return person


def _pages(vault: Vault) -> list[str]:
    kw = {"vault_id": vault.id}
    table = {**kw, "table": "persons"}
    return [
        reverse("studio:vaults"),
        reverse("studio:vault_create"),
        reverse("studio:vault_detail", kwargs=kw),
        reverse("studio:vault_edit", kwargs=kw),
        reverse("studio:schema_document", kwargs=kw),
        reverse("studio:table_add", kwargs=kw),
        reverse("studio:table_drop", kwargs=table),
        reverse("studio:column_add", kwargs=table),
        reverse("studio:column_edit", kwargs={**table, "column": "ssn"}),
        reverse("studio:column_drop", kwargs={**table, "column": "ssn"}),
    ]


def test_a_vault_owner_opens_every_vault_page(client: Any, owner: Any, vault: Vault) -> None:
    for url in _pages(vault):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_csp(response)


@pytest.mark.parametrize("roles", [("AUDITOR",), ("ACCOUNT_ADMIN",)])
def test_other_management_roles_get_403(client: Any, vault: Vault, roles: tuple[str, ...]) -> None:
    login_client(client, make_person("other@example.com", roles=roles))
    for url in _pages(vault):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x"}).status_code == 403, url
    assert Vault.objects.count() == 1


def test_an_analyst_with_only_policies_gets_403(client: Any, vault: Vault) -> None:
    login_client(client, analyst("analyst@example.com", vault, MASKED_POLICY))
    for url in _pages(vault):
        assert client.get(url).status_code == 403, url


def test_not_logged_in_goes_to_login(client: Any, vault: Vault) -> None:
    response = client.get(reverse("studio:vaults"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("studio:login"))


def test_the_list_shows_record_counts(client: Any, owner: Any, vault: Vault) -> None:
    response = client.get(reverse("studio:vaults"))
    listed = {v.name: v for v in response.context["vaults"]}
    assert listed[vault.name].record_count == 3
    assert listed[vault.name].table_count == 1


def test_an_owner_bound_to_one_vault_sees_only_that_vault(client: Any, vault: Vault) -> None:
    other = persons_vault(people=[])
    person = make_person("scoped@example.com")
    RoleBinding.objects.create(role=Role.objects.get(name="VAULT_OWNER"), user=person, vault_id=vault.id)
    login_client(client, person)
    listed = [v.name for v in client.get(reverse("studio:vaults")).context["vaults"]]
    assert listed == [vault.name]
    assert client.get(reverse("studio:vault_detail", kwargs={"vault_id": vault.id})).status_code == 200
    assert client.get(reverse("studio:vault_detail", kwargs={"vault_id": other.id})).status_code == 404
    page = reverse("studio:column_edit", kwargs={"vault_id": other.id, "table": "persons", "column": "ssn"})
    assert client.post(page, {"name": "ssn"}).status_code == 404
    # Creating a vault needs an owner of every vault.
    assert client.get(reverse("studio:vault_create")).status_code == 403
    assert client.post(reverse("studio:vault_create"), {"name": "sneaky"}).status_code == 403
    assert not Vault.objects.filter(name="sneaky").exists()


def test_create_a_vault(client: Any, owner: Any) -> None:
    response = client.post(reverse("studio:vault_create"), {"name": "customers", "description": "CRM data"})
    vault = Vault.objects.get(name="customers")
    assert response.status_code == 302
    assert response.url == reverse("studio:vault_detail", kwargs={"vault_id": vault.id})
    event = AuditEvent.objects.get(action="vault.create")
    assert event.actor_id == str(owner.pk)


def test_creating_a_vault_with_a_taken_or_empty_name_writes_nothing(client: Any, owner: Any, vault: Vault) -> None:
    before = AuditEvent.objects.count()
    response = client.post(reverse("studio:vault_create"), {"name": vault.name})
    assert response.status_code == 200
    assert "already exists" in str(response.context["form"].errors["name"])
    response = client.post(reverse("studio:vault_create"), {"name": ""})
    assert response.context["form"].errors["name"]
    assert Vault.objects.count() == 1
    assert AuditEvent.objects.count() == before


EVERY_OPTION = {
    "name": "passport",
    "data_type": "string",
    "required": "on",
    "unique": "on",
    "encrypted": "on",
    "searchable": "on",
    "validation": "^[A-Z]{2}\n^[A-Z0-9]{9}$",
    "tokenization": "TRANSIENT",
    "token_ttl_minutes": "60",
    "default_redaction": "MASKED",
    "masking_kind": "regex",
    "masking_preset": "full",
    "masking_find": "^(..).*(..)$",
    "masking_replace": "${1}*****${2}",
    "column_group": "documents",
}


def test_add_a_column_with_every_option(client: Any, owner: Any, vault: Vault) -> None:
    url = reverse("studio:column_add", kwargs={"vault_id": vault.id, "table": "persons"})
    response = client.post(url, EVERY_OPTION)
    assert response.status_code == 302, response.context["form"].errors
    column = Column.objects.get(table__vault=vault, name="passport")
    assert column.required and column.unique and column.encrypted and column.searchable
    assert column.validation == ["^[A-Z]{2}", "^[A-Z0-9]{9}$"]
    assert (column.tokenization, column.token_ttl_minutes) == ("TRANSIENT", 60)
    assert column.default_redaction == "MASKED"
    assert column.masking == {"find": "^(..).*(..)$", "replace": "${1}*****${2}"}
    assert column.column_group == "documents"
    assert AuditEvent.objects.filter(action="vault.schema.update", actor_id=str(owner.pk)).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "Bad Name"}, "name"),
        ({"name": "skyflow_id"}, "name"),
        ({"name": "ssn"}, "name"),  # taken
        ({"tokenization": "TRANSIENT", "token_ttl_minutes": ""}, "token_ttl_minutes"),
        ({"tokenization": "UUID", "token_ttl_minutes": "5"}, "token_ttl_minutes"),
        ({"data_type": "boolean", "tokenization": "FORMAT_PRESERVING"}, "tokenization"),
        ({"validation": "([unclosed"}, "validation"),
        ({"masking_kind": "preset", "masking_preset": "year", "data_type": "boolean"}, "masking_preset"),
        ({"masking_find": "(", "masking_replace": "x"}, "masking_find"),
        ({"searchable": "", "unique": "on", "encrypted": "on"}, "unique"),
        ({"column_group": "Not An Identifier"}, "column_group"),
    ],
)
def test_a_bad_column_shows_its_error_on_the_field_and_writes_nothing(
    client: Any, owner: Any, vault: Vault, change: dict[str, str], field: str
) -> None:
    before = vault_schema(vault)
    url = reverse("studio:column_add", kwargs={"vault_id": vault.id, "table": "persons"})
    response = client.post(url, {**EVERY_OPTION, **change})
    assert response.status_code == 200
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert vault_schema(vault) == before
    assert not AuditEvent.objects.filter(action="vault.schema.update").exists()


def test_edit_a_column(client: Any, owner: Any, vault: Vault) -> None:
    url = reverse("studio:column_edit", kwargs={"vault_id": vault.id, "table": "persons", "column": "name"})
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v not in (None, False)}
    # A posted name is ignored: a column keeps its name (a new one would drop it and add another).
    data.update(
        {"name": "renamed", "default_redaction": "REDACTED", "masking_kind": "preset", "masking_preset": "full"}
    )
    response = client.post(url, {k: ("on" if v is True else v) for k, v in data.items()})
    assert response.status_code == 302, response.context["form"].errors
    column = Column.objects.get(table__vault=vault, name="name")
    assert (column.default_redaction, column.masking) == ("REDACTED", {"preset": "full"})
    assert not Column.objects.filter(table__vault=vault, name="renamed").exists()


def test_a_change_that_would_invalidate_stored_values_is_refused(client: Any, owner: Any, vault: Vault) -> None:
    url = reverse("studio:column_edit", kwargs={"vault_id": vault.id, "table": "persons", "column": "region"})
    response = client.post(
        url,
        {
            "name": "region",
            "data_type": "integer",
            "tokenization": "NONE",
            "default_redaction": "PLAIN_TEXT",
            "masking_kind": "preset",
            "masking_preset": "full",
        },
    )
    assert response.status_code == 200
    assert "holds data" in str(response.context["form"].non_field_errors()).lower()
    assert Column.objects.get(table__vault=vault, name="region").data_type == "string"


def test_add_and_drop_a_table(client: Any, owner: Any, vault: Vault) -> None:
    response = client.post(reverse("studio:table_add", kwargs={"vault_id": vault.id}), {"name": "cards"})
    assert response.url == reverse("studio:column_add", kwargs={"vault_id": vault.id, "table": "cards"})
    assert Table.objects.filter(vault=vault, name="cards").exists()
    response = client.post(reverse("studio:table_add", kwargs={"vault_id": vault.id}), {"name": "Cards!"})
    assert response.context["form"].errors["name"]
    drop = reverse("studio:table_drop", kwargs={"vault_id": vault.id, "table": "cards"})
    assert client.post(drop, {}).status_code == 302
    assert not Table.objects.filter(vault=vault, name="cards").exists()


def test_dropping_a_column_that_holds_data_needs_confirmation(client: Any, owner: Any, vault: Vault) -> None:
    url = reverse("studio:column_drop", kwargs={"vault_id": vault.id, "table": "persons", "column": "ssn"})
    response = client.post(url, {})
    assert response.status_code == 200
    assert "holds data; dropping it needs confirming the drop" in str(response.context["form"].non_field_errors())
    assert Column.objects.filter(table__vault=vault, name="ssn").exists()
    assert client.post(url, {"confirm_drop": "on"}).status_code == 302
    assert not Column.objects.filter(table__vault=vault, name="ssn").exists()


def test_the_schema_document_page(client: Any, owner: Any, vault: Vault) -> None:
    url = reverse("studio:schema_document", kwargs={"vault_id": vault.id})
    document = json.loads(client.get(url).context["form"].initial["document"])
    assert document == vault_schema(vault).as_document()
    response = client.post(url, {"document": "{not json"})
    assert "Not valid JSON" in str(response.context["form"].errors["document"])
    document["tables"][0]["columns"][0]["data_type"] = "colour"
    response = client.post(url, {"document": json.dumps(document)})
    assert "tables[0].columns[0].data_type" in str(response.context["form"].errors["document"])
    document["tables"][0]["columns"][0]["data_type"] = "string"
    document["tables"].append({"name": "notes", "columns": [{"name": "text"}]})
    assert client.post(url, {"document": json.dumps(document)}).status_code == 302
    assert Table.objects.filter(vault=vault, name="notes").exists()


def test_rename_a_vault(client: Any, owner: Any, vault: Vault) -> None:
    url = reverse("studio:vault_edit", kwargs={"vault_id": vault.id})
    assert client.post(url, {"name": "renamed", "description": "d"}).status_code == 302
    vault.refresh_from_db()
    assert (vault.name, vault.description) == ("renamed", "d")
