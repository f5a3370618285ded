"""Row conditions become database filters that agree with the engine's own row evaluation."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from policies.engine import CompiledPolicySet, Principal
from policies.language import compile_policy
from vaults import keys
from vaults.crypto.blind_index import blind_index
from vaults.models import BlindIndex, Column, Record, Table
from vaults.row_filters import RowFilter
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
                {"name": "email", "data_type": "email", "searchable": True},
                {"name": "region", "encrypted": False},
                {"name": "age", "data_type": "integer", "encrypted": False},
                {"name": "vip", "data_type": "boolean", "encrypted": False},
            ],
        }
    ]
}
PEOPLE = [
    {"name": "Ada", "email": "ada@example.com", "region": "EU", "age": 36, "vip": True},
    {"name": "Bob", "email": "BOB@example.com", "region": "US", "age": 20, "vip": False},
    {"name": "Cy", "region": "EU", "age": 51},
    {"name": "Dee", "email": "dee@example.com", "region": None, "vip": False},
    {"name": "O'Hara; DROP TABLE x", "email": "x@example.com", "region": "APAC", "age": 5},
]


@pytest.fixture
def world(actor):
    vault = vault_create(actor=actor, name="filters", schema=parse_schema(SCHEMA))
    table = Table.objects.get(vault=vault, name="persons")
    columns = {c.name: c for c in Column.objects.filter(table=table)}
    index_key = keys.index_key(vault)
    rows = {}
    for person in PEOPLE:
        stored = {k: v for k, v in person.items() if k != "email"}
        if "email" in person:
            stored["email"] = "sealed-elsewhere"  # the value itself is irrelevant to filtering
        record = Record.objects.create(table=table, data=stored)
        if "email" in person:
            digest = blind_index(index_key, table="persons", column="email", data_type="email", value=person["email"])
            BlindIndex.objects.create(column=columns["email"], record=record, digest=digest)
        rows[record.pk] = person
    return vault, table, columns, index_key, rows


CONDITIONS = [
    "persons.region = 'EU'",
    "persons.region != 'EU'",
    "persons.region <> 'EU'",
    "NOT persons.region = 'EU'",
    "persons.region IS NULL",
    "persons.region IS NOT NULL",
    "persons.region IN ('EU', 'APAC')",
    "persons.region NOT IN ('EU', 'APAC')",
    "persons.age > 30",
    "persons.age <= 20",
    "persons.age >= 36 AND persons.region = 'EU'",
    "persons.age < 10 OR persons.vip = TRUE",
    "NOT (persons.age < 10 OR persons.vip = TRUE)",
    "persons.vip = FALSE",
    "persons.name LIKE 'O''Hara%'",
    "persons.name NOT LIKE '%a'",
    "persons.email = 'ada@example.com'",
    "persons.email != 'ada@example.com'",
    "persons.email IN ('ada@example.com', 'x@example.com')",
    "persons.email NOT IN ('ada@example.com')",
    "persons.email IS NULL",
    "persons.email IS NOT NULL",
    "persons.email = 'ada@example.com' OR persons.region = 'US'",
    "persons.name = 'x'' OR ''1''=''1'",
]


@pytest.mark.parametrize("condition", CONDITIONS)
def test_database_filter_matches_the_engine(world, condition):
    vault, table, columns, index_key, rows = world
    source = f"ALLOW READ ON persons.* WITH REDACTION = PLAIN_TEXT WHERE {condition}"
    result = compile_policy(source, schema_info(vault))
    assert result.ok, result.errors
    policy_set = CompiledPolicySet.build([("p1", result.compiled)], schema_info(vault))
    decision = policy_set.decide(Principal(id="x"), "READ", "persons")
    row_filter = RowFilter(table="persons", columns=columns, index_key=index_key)
    with CaptureQueriesContext(connection) as queries:
        got = set(
            Record.objects.filter(table=table).filter(row_filter.q(decision.row_filter)).values_list("pk", flat=True)
        )
    assert len(queries) == 1
    expected = {pk for pk, person in rows.items() if decision.row_allowed(_engine_row(person))}
    assert got == expected, (condition, sorted(rows[p]["name"] for p in got), sorted(rows[p]["name"] for p in expected))


def _engine_row(person):
    row = dict(person)
    if "email" in row:
        row["email"] = row["email"].lower()  # what the blind index compares: the normalized email
    return row


def test_no_policy_means_no_rows(world):
    vault, table, columns, index_key, _ = world
    policy_set = CompiledPolicySet.build([], schema_info(vault))
    decision = policy_set.decide(Principal(id="x"), "READ", "persons")
    row_filter = RowFilter(table="persons", columns=columns, index_key=index_key)
    assert not Record.objects.filter(table=table).filter(row_filter.q(decision.row_filter)).exists()


def test_email_equality_follows_the_blind_index_normalization(world):
    vault, table, columns, index_key, rows = world
    result = compile_policy("ALLOW READ ON persons.* WHERE persons.email = 'bob@EXAMPLE.com'", schema_info(vault))
    decision = CompiledPolicySet.build([("p", result.compiled)], schema_info(vault)).decide(
        Principal(id="x"), "READ", "persons"
    )
    row_filter = RowFilter(table="persons", columns=columns, index_key=index_key)
    names = [
        rows[pk]["name"] for pk in Record.objects.filter(row_filter.q(decision.row_filter)).values_list("pk", flat=True)
    ]
    assert names == ["Bob"]
