"""``skyflow_id`` in a query's WHERE and SELECT, and in bulk get's ``fields``: a wire fix found by the SDKs.

Skyflow's SDK READMEs show the query ``SELECT * FROM cards WHERE skyflow_id='…'``; VaultStudio
answered it with a 400 ("Table persons has no column skyflow_id") because the record id is not a
schema column. ``vaults.records.records_read`` now reads ``skyflow_id`` as the record's id there,
still under the caller's row-level policies.
"""

from __future__ import annotations

import pytest

from tests.sdk.conftest import ADA, PLAIN_READ, WRITE
from tests.vaults.conftest import caller_with, persons_vault  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def _insert(client, vault, *rows):
    response = client.post(f"/v1/vaults/{vault.id}/persons", {"records": [{"fields": r} for r in rows]}, format="json")
    assert response.status_code == 200, response.content
    return [r["skyflow_id"] for r in response.json()["records"]]


def _query(client, vault, text):
    return client.post(f"/v1/vaults/{vault.id}/query", {"query": text}, format="json")


def test_where_skyflow_id_selects_that_record(persons_vault, caller_with):  # noqa: F811
    client = caller_with(persons_vault, PLAIN_READ, WRITE)
    ada, bob = _insert(client, persons_vault, ADA, {**ADA, "email": "bob@example.com", "name": "Bob"})
    answer = _query(client, persons_vault, f"SELECT * FROM persons WHERE skyflow_id = '{bob}'")
    assert answer.status_code == 200, answer.content
    assert [r["fields"]["skyflow_id"] for r in answer.json()["records"]] == [bob]
    both = _query(client, persons_vault, f"SELECT name FROM persons WHERE skyflow_id = '{ada}' AND region = 'EU'")
    assert both.json()["records"] == [{"fields": {"name": "A***", "skyflow_id": ada}}]
    # An id that is not a UUID matches nothing; it is not an error.
    assert _query(client, persons_vault, "SELECT * FROM persons WHERE skyflow_id = 'x'").json() == {"records": []}


def test_where_skyflow_id_keeps_row_level_policies(persons_vault, caller_with):  # noqa: F811
    writer = caller_with(persons_vault, WRITE)
    (us,) = _insert(writer, persons_vault, {**ADA, "region": "US"})
    eu_only = caller_with(
        persons_vault, "ALLOW READ ON persons.name WITH REDACTION = PLAIN_TEXT WHERE persons.region = 'EU'"
    )
    answer = _query(eu_only, persons_vault, f"SELECT name FROM persons WHERE skyflow_id = '{us}'")
    assert answer.status_code == 200 and answer.json() == {"records": []}


def test_skyflow_id_as_a_selected_column_or_field(persons_vault, caller_with):  # noqa: F811
    client = caller_with(persons_vault, PLAIN_READ, WRITE)
    (ada,) = _insert(client, persons_vault, ADA)
    selected = _query(client, persons_vault, "SELECT skyflow_id, region FROM persons")
    assert selected.status_code == 200, selected.content
    assert selected.json()["records"] == [{"fields": {"region": "EU", "skyflow_id": ada}}]
    got = client.get(
        f"/v1/vaults/{persons_vault.id}/persons",
        {"skyflow_ids": [ada], "fields": ["skyflow_id", "name"], "redaction": "PLAIN_TEXT"},
    )
    assert got.status_code == 200, got.content
    assert got.json()["records"] == [{"fields": {"name": ADA["name"], "skyflow_id": ada}}]
