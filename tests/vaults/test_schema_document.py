"""The schema document parser: defaults, and every problem reported with its path."""

from __future__ import annotations

import pytest

from vaults.schema import SchemaErrors, parse_schema

PERSONS = {
    "tables": [
        {
            "name": "persons",
            "columns": [
                {"name": "name"},
                {
                    "name": "ssn",
                    "data_type": "ssn",
                    "required": False,
                    "unique": True,
                    "validation": ["^\\d{3}-\\d{2}-\\d{4}$"],
                    "encrypted": True,
                    "searchable": True,
                    "tokenization": "UUID",
                    "token_ttl_minutes": None,
                    "default_redaction": "MASKED",
                    "masking": {"preset": "ssn"},
                    "column_group": None,
                },
                {"name": "region", "encrypted": False, "searchable": True, "default_redaction": "PLAIN_TEXT"},
            ],
        }
    ]
}


def test_the_design_example_parses_and_round_trips():
    spec = parse_schema(PERSONS)
    name, ssn, region = spec.tables[0].columns
    assert name.data_type == "string" and name.encrypted and not name.searchable
    assert name.tokenization == "NONE" and name.default_redaction == "REDACTED" and name.masking == {"preset": "full"}
    assert ssn.masking == {"preset": "ssn"} and ssn.validation == ("^\\d{3}-\\d{2}-\\d{4}$",)
    assert parse_schema(spec.as_document()) == spec


def errors_of(doc) -> list[dict[str, str]]:
    with pytest.raises(SchemaErrors) as raised:
        parse_schema(doc)
    return raised.value.details


def one_column(**options):
    return {"tables": [{"name": "t", "columns": [{"name": "c", **options}]}]}


@pytest.mark.parametrize(
    "options, field, text",
    [
        ({"data_type": "money"}, "data_type", "must be one of"),
        ({"encrypted": "yes"}, "encrypted", "true or false"),
        ({"tokenization": "MAGIC"}, "tokenization", "must be one of"),
        ({"tokenization": "TRANSIENT"}, "token_ttl_minutes", "required for TRANSIENT"),
        ({"tokenization": "UUID", "token_ttl_minutes": 5}, "token_ttl_minutes", "only TRANSIENT"),
        ({"tokenization": "FORMAT_PRESERVING", "data_type": "integer"}, "tokenization", "does not apply"),
        ({"unique": True}, "unique", "needs searchable"),
        ({"data_type": "json", "searchable": True}, "searchable", "json columns"),
        ({"default_redaction": "DEFAULT"}, "default_redaction", "must be one of"),
        ({"masking": {"preset": "half"}}, "masking.preset", "unknown preset"),
        ({"masking": {"find": "(a", "replace": "x"}}, "masking.find", "does not compile"),
        ({"masking": {"find": "(a)", "replace": "${2}"}}, "masking.replace", "refers to group 2"),
        ({"masking": {"find": "(a+)+b", "replace": "x"}}, "masking.find", ""),
        ({"masking": "ssn"}, "masking", "preset"),
        ({"validation": ["[unclosed"]}, "validation[0]", "not a valid regular expression"),
        ({"validation": ["x"] * 11}, "validation", "at most 10"),
        ({"column_group": "Has Spaces"}, "column_group", "lowercase identifier"),
        ({"colour": "red"}, "colour", "unknown column option"),
    ],
)
def test_column_errors_name_their_path(options, field, text):
    details = errors_of(one_column(**options))
    assert any(d["field"] == f"tables[0].columns[0].{field}" and text in d["message"] for d in details), details


@pytest.mark.parametrize(
    "doc, field, text",
    [
        ([], "tables", '{"tables"'),
        ({"tables": "persons"}, "tables", '{"tables"'),
        ({"tables": [], "extra": 1}, "extra", "unknown key"),
        ({"tables": [{"name": "Bad Name"}]}, "tables[0].name", "lowercase identifier"),
        ({"tables": [{"name": "t"}, {"name": "t"}]}, "tables[1].name", "appears twice"),
        ({"tables": [{"name": "t", "columns": [{"name": "skyflow_id"}]}]}, "tables[0].columns[0].name", "reserved"),
        ({"tables": [{"name": "t", "columns": [{"name": "a"}, {"name": "a"}]}]}, "tables[0].columns[1].name", "twice"),
        ({"tables": [{"name": "t", "columns": [7]}]}, "tables[0].columns[0]", "must be an object"),
        ({"tables": [{"name": "t", "owner": "x"}]}, "tables[0].owner", "unknown table option"),
        ({"tables": ["t"]}, "tables[0]", "must be an object"),
    ],
)
def test_document_errors(doc, field, text):
    details = errors_of(doc)
    assert any(d["field"] == field and text in d["message"] for d in details), details


def test_every_error_is_reported_at_once():
    doc = {"tables": [{"name": "t", "columns": [{"name": "a", "data_type": "x"}, {"name": "b", "encrypted": 1}]}]}
    fields = {d["field"] for d in errors_of(doc)}
    assert {"tables[0].columns[0].data_type", "tables[0].columns[1].encrypted"} <= fields


@pytest.mark.parametrize("name", ["persons; DROP TABLE x", "a.b", "ünïcode", "x" * 64, "", "1abc"])
def test_hostile_names_are_refused(name):
    details = errors_of({"tables": [{"name": name}]})
    assert details[0]["field"] == "tables[0].name"
