"""Hostile input on the data plane: injection through every text the caller controls, oversized bodies."""

from __future__ import annotations

import pytest

from vaults.models import Record

pytestmark = pytest.mark.django_db

WRITE_READ = "ALLOW CREATE ON persons.*\nALLOW READ ON persons.* WITH REDACTION = PLAIN_TEXT"
ADA = {"name": "Ada", "email": "ada@example.com", "ssn": "123-45-6789", "region": "EU"}
INJECTIONS = [
    "' OR '1'='1",
    "EU' OR 1=1 --",
    "x'); DELETE FROM vaults_record; --",
    '"; DROP TABLE vaults_record; --',
    "$.region') OR 1=1 --",
    "%",
    "*",
]


@pytest.fixture
def client(persons_vault, caller_with):
    c = caller_with(persons_vault, WRITE_READ)
    assert (
        c.post(f"/v1/vaults/{persons_vault.id}/persons", {"records": [{"fields": ADA}]}, format="json").status_code
        == 200
    )
    return c


@pytest.mark.parametrize("value", INJECTIONS)
def test_column_values_are_parameters(client, persons_vault, value):
    for column in ("email", "region", "name"):
        response = client.get(
            f"/v1/vaults/{persons_vault.id}/persons", {"column_name": column, "column_values": [value]}
        )
        assert response.status_code in (200, 400), response.content
        if response.status_code == 200:
            assert response.json()["records"] == []
    assert Record.objects.count() == 1


@pytest.mark.parametrize("value", INJECTIONS)
def test_query_literals_are_parameters(client, persons_vault, value):
    quoted = value.replace("'", "''")
    response = client.post(
        f"/v1/vaults/{persons_vault.id}/query",
        {"query": f"SELECT * FROM persons WHERE region = '{quoted}'"},
        format="json",
    )
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json()["records"] == []
    assert Record.objects.count() == 1


@pytest.mark.parametrize(
    "name", ["persons;DROP TABLE vaults_record", "vaults_record", "persons--", "..%2F..", "persons'"]
)
def test_table_names_in_the_path_are_lookups(client, persons_vault, name):
    response = client.get(f"/v1/vaults/{persons_vault.id}/{name}")
    assert response.status_code == 404 and response.json()["error"]["http_code"] == 404
    assert Record.objects.count() == 1


@pytest.mark.parametrize("field", ["region') OR 1=1 --", "data", "skyflow_id; --", "__class__"])
def test_field_and_column_names_are_checked_against_the_schema(client, persons_vault, field):
    assert client.get(f"/v1/vaults/{persons_vault.id}/persons", {"fields": [field]}).status_code == 400
    response = client.post(
        f"/v1/vaults/{persons_vault.id}/persons", {"records": [{"fields": {field: "x"}}]}, format="json"
    )
    assert response.status_code == 400 and "no column" in response.json()["error"]["message"]
    assert Record.objects.count() == 1


def test_oversized_body_is_413(client, persons_vault, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = {"records": [{"fields": {**ADA, "name": "x" * 20_000}}]}
    response = client.post(f"/v1/vaults/{persons_vault.id}/persons", big, format="json")
    assert response.status_code == 413 and response.json()["error"]["http_code"] == 413
    assert Record.objects.count() == 1


def test_too_many_records_is_400(client, persons_vault):
    response = client.post(
        f"/v1/vaults/{persons_vault.id}/persons", {"records": [{"fields": {"name": "x"}}] * 1001}, format="json"
    )
    assert response.status_code == 400 and "at most 1000" in response.json()["error"]["message"]


def test_unknown_vault_is_404(client):
    assert client.get("/v1/vaults/00000000-0000-4000-8000-000000000000/persons").status_code == 404
    assert client.get("/v1/vaults/not-a-vault/persons").status_code == 404
