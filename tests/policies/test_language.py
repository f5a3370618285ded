"""The policy language: parser details, hard limits, the compiled JSON format and its loader."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.language import (
    ColumnInfo,
    CompiledFormatError,
    PolicyError,
    ResourcePattern,
    SchemaInfo,
    ast,
    compile_policy,
    load_compiled,
)
from policies.language.limits import (
    MAX_CONDITION_NODES,
    MAX_IDENTIFIER_LENGTH,
    MAX_IN_VALUES,
    MAX_LITERAL_LENGTH,
    MAX_SOURCE_BYTES,
    MAX_STATEMENTS,
)
from policies.language.parser import parse_line


def _only_error(source: str, schema: SchemaInfo) -> PolicyError:
    result = compile_policy(source, schema)
    assert result.compiled is None and len(result.errors) == 1, result.errors
    return result.errors[0]


def _condition(source: str, schema: SchemaInfo) -> ast.Condition | None:
    result = compile_policy(source, schema)
    assert result.compiled is not None, result.errors
    return result.compiled.statements[0].condition


# --- parsing ----------------------------------------------------------------------------------------


def test_brief_example_parses_unchanged(schema: SchemaInfo) -> None:
    source = (
        "ALLOW READ ON persons.phone_numbers, persons.nationality WITH REDACTION = PLAIN_TEXT "
        "WHERE persons.nationality = 'COLOMBIAN'"
    )
    result = compile_policy(source, schema)
    assert result.ok and result.errors == []
    assert result.compiled is not None
    statement = result.compiled.statements[0]
    assert statement.resources == (
        ResourcePattern("persons", "phone_numbers.*"),
        ResourcePattern("persons", "nationality"),
    )
    assert statement.redaction == "PLAIN_TEXT"


def test_precedence_not_and_or(schema: SchemaInfo) -> None:
    condition = _condition(
        "ALLOW READ ON persons.name WHERE NOT persons.region = 'A' AND persons.age = 1 OR persons.name = 'x'", schema
    )
    assert isinstance(condition, ast.Or)
    first = condition.args[0]
    assert isinstance(first, ast.And) and isinstance(first.args[0], ast.Not)


def test_parentheses_override_precedence(schema: SchemaInfo) -> None:
    condition = _condition(
        "ALLOW READ ON persons.name WHERE persons.region = 'A' AND (persons.age = 1 OR persons.name = 'x')", schema
    )
    assert isinstance(condition, ast.And) and isinstance(condition.args[1], ast.Or)


def test_literal_on_the_left_is_turned_around(schema: SchemaInfo) -> None:
    condition = _condition("ALLOW READ ON persons.name WHERE 18 < persons.age", schema)
    assert condition == ast.Compare(">", ast.ColumnRef("persons", "age"), ast.Literal(18))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'it''s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        (r"'back\\slash'", "back\\slash"),
        (r"'quote\'d'", "quote'd"),
        (r"'100\%'", "100\\%"),
        ("\u2018curly\u2019", "curly"),
        ("''", ""),
        ("-- not a comment inside quotes".join("''"), "-- not a comment inside quotes"),
    ],
)
def test_text_literals(text: str, value: str, schema: SchemaInfo) -> None:
    condition = _condition(f"ALLOW READ ON persons.name WHERE persons.name = {text}", schema)
    assert isinstance(condition, ast.Compare) and condition.right == ast.Literal(value)


@pytest.mark.parametrize(("text", "value"), [("42", 42), ("-7", -7), ("2.5", 2.5), (".5", 0.5), ("1e3", 1000.0)])
def test_number_literals(text: str, value: float, schema: SchemaInfo) -> None:
    condition = _condition(f"ALLOW READ ON persons.name WHERE persons.score = {text}", schema)
    assert isinstance(condition, ast.Compare) and condition.right == ast.Literal(value)


def test_keywords_are_case_insensitive_and_may_name_columns() -> None:
    schema = SchemaInfo.from_dict({"t": {"where": {"encrypted": False}, "null": {"encrypted": False}}})
    result = compile_policy("aLLoW rEaD oN t.where, t.null wHeRe t.where iS nOt NuLl", schema)
    assert result.ok, result.errors


def test_every_line_is_checked_and_errors_are_sorted(schema: SchemaInfo) -> None:
    result = compile_policy(
        "ALLOW READ ON persons.x\n\nALLOW READ ON\nALLOW READ ON persons.name\nDENY READ ON y.z", schema
    )
    assert [(e.line, e.column) for e in result.errors] == [(1, 15), (3, 14), (5, 14)]
    assert str(result.errors[0]).startswith("line 1, column 15: ")
    assert result.errors[0].as_dict()["line"] == 1


def test_crlf_line_endings(schema: SchemaInfo) -> None:
    assert compile_policy("ALLOW READ ON persons.name\r\nALLOW READ ON persons.ssn\r\n", schema).ok


def test_syntax_error_positions() -> None:
    parsed = parse_line("ALLOW READ ON persons.name WHERE persons.x ~ 1", 7)
    assert parsed.statement is None
    assert (parsed.errors[0].line, parsed.errors[0].column) == (7, 44)


def test_nested_context_key_and_principal_attributes(schema: SchemaInfo) -> None:
    condition = _condition(
        "ALLOW READ ON persons.name WHERE request.context.a.b = principal.email AND principal.NAME IS NULL", schema
    )
    assert isinstance(condition, ast.And)
    assert condition.args[0] == ast.Compare("=", ast.ContextRef(("a", "b")), ast.PrincipalRef("email"))
    assert condition.args[1] == ast.IsNull(ast.PrincipalRef("name"))


def test_principal_type_literal_is_checked_on_either_side(schema: SchemaInfo) -> None:
    assert compile_policy("ALLOW READ ON persons.name WHERE principal.type = 'USER'", schema).ok
    assert compile_policy("ALLOW READ ON persons.name WHERE principal.type IN ('USER', 'SERVICE_ACCOUNT')", schema).ok
    error = _only_error("ALLOW READ ON persons.name WHERE principal.type = 'ROBOT'", schema)
    assert "USER or SERVICE_ACCOUNT" in error.message


def test_where_on_an_unknown_table_in_on_is_reported_once(schema: SchemaInfo) -> None:
    result = compile_policy("ALLOW READ ON ghost.a WHERE ghost.b = 1", schema)
    assert [e.column for e in result.errors] == [15, 29]


def test_vault_wide_detokenization_with_context_only_condition(schema: SchemaInfo) -> None:
    result = compile_policy("ALLOW DETOKENIZATION WHERE request.context.purpose = 'audit'", schema)
    assert result.compiled is not None
    statement = result.compiled.statements[0]
    assert statement.resources is None and statement.redaction == "DEFAULT"


def test_deny_without_redaction_stores_no_level(schema: SchemaInfo) -> None:
    result = compile_policy("DENY READ ON persons.ssn\nALLOW DELETE ON persons.*", schema)
    assert result.compiled is not None
    assert [s.redaction for s in result.compiled.statements] == [None, None]


def test_unknown_level_on_deny_reports_the_level_only(schema: SchemaInfo) -> None:
    error = _only_error("DENY READ ON persons.ssn WITH REDACTION = SOMETIMES", schema)
    assert "Unknown redaction level" in error.message


def test_schema_info_rejects_bad_columns() -> None:
    with pytest.raises(ValueError, match="data type"):
        ColumnInfo("x", data_type="blob")
    with pytest.raises(ValueError, match="default_redaction"):
        ColumnInfo("x", default_redaction="DEFAULT")


# --- limits -----------------------------------------------------------------------------------------


def test_source_size_limit(schema: SchemaInfo) -> None:
    source = "# " + "x" * MAX_SOURCE_BYTES
    error = _only_error(source, schema)
    assert (error.line, error.column) == (1, 1) and "limit" in error.message


def test_statement_limit(schema: SchemaInfo) -> None:
    source = "\n".join(["ALLOW READ ON persons.name"] * (MAX_STATEMENTS + 5))
    error = _only_error(source, schema)
    assert (error.line, error.column) == (MAX_STATEMENTS + 1, 1)
    assert compile_policy("\n".join(["ALLOW READ ON persons.name"] * MAX_STATEMENTS), schema).ok


def test_condition_node_limit(schema: SchemaInfo) -> None:
    # Each "persons.age = n" is 3 nodes, each AND one more.
    def source(terms: int) -> str:
        return "ALLOW READ ON persons.name WHERE " + " AND ".join(f"persons.age = {n}" for n in range(terms))

    assert compile_policy(source(16), schema).ok  # 16 * 3 + 15 = 63 nodes
    error = _only_error(source(17), schema)
    assert error.column == 28 and f"limit is {MAX_CONDITION_NODES}" in error.message


def test_deeply_nested_not_is_refused_without_recursion(schema: SchemaInfo) -> None:
    source = "ALLOW READ ON persons.name WHERE " + "NOT " * 5000 + "persons.age = 1"
    error = _only_error(source, schema)
    assert "parts; the limit" in error.message


def test_deep_parentheses_cost_no_nodes(schema: SchemaInfo) -> None:
    source = "ALLOW READ ON persons.name WHERE " + "(" * 3000 + "persons.age = 1" + ")" * 3000
    assert compile_policy(source, schema).ok


def test_identifier_length_limit(schema: SchemaInfo) -> None:
    long = "c" * (MAX_IDENTIFIER_LENGTH + 1)
    result = compile_policy(f"ALLOW READ ON persons.{long}", schema)
    assert any(f"limit is {MAX_IDENTIFIER_LENGTH}" in e.message for e in result.errors)


def test_literal_length_limits(schema: SchemaInfo) -> None:
    text = "x" * (MAX_LITERAL_LENGTH + 1)
    error = _only_error(f"ALLOW READ ON persons.name WHERE persons.name = '{text}'", schema)
    assert f"limit is {MAX_LITERAL_LENGTH}" in error.message
    error = _only_error(f"ALLOW READ ON persons.name WHERE persons.name LIKE '{text}'", schema)
    assert f"limit is {MAX_LITERAL_LENGTH}" in error.message
    digits = "9" * (MAX_LITERAL_LENGTH + 1)
    error = _only_error(f"ALLOW READ ON persons.name WHERE persons.age = {digits}", schema)
    assert f"limit is {MAX_LITERAL_LENGTH}" in error.message


def test_in_list_limit(schema: SchemaInfo) -> None:
    values = ", ".join(str(n) for n in range(MAX_IN_VALUES + 1))
    error = _only_error(f"ALLOW READ ON persons.name WHERE persons.age IN ({values})", schema)
    assert f"limit is {MAX_IN_VALUES}" in error.message


# --- compiled format --------------------------------------------------------------------------------


def test_compiled_form_round_trips_through_json(schema: SchemaInfo) -> None:
    source = (
        (GOLDEN_DIR / "row_level.policy").read_text()
        + "\nALLOW DETOKENIZATION WHERE NOT request.context.a IS NULL AND principal.id != 'x'"
        + "\nALLOW READ ON persons.phone_numbers.* WHERE persons.vip = 'true'"
    )
    result = compile_policy(source, schema)
    assert result.compiled is not None
    document = json.loads(json.dumps(result.compiled.to_json()))
    assert document["format"] == 1
    assert load_compiled(document) == result.compiled


GOLDEN_DIR = __import__("pathlib").Path(__file__).parent / "golden"

_GOOD_STATEMENT: dict[str, Any] = {
    "index": 0,
    "line": 1,
    "column": 1,
    "effect": "ALLOW",
    "action": "READ",
    "resources": [["t", "c"]],
    "redaction": None,
    "condition": None,
}


def _with(**changes: Any) -> dict[str, Any]:
    return {"format": 1, "statements": [{**_GOOD_STATEMENT, **changes}]}


_OPERAND = {"column": ["t", "c"]}


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"format": 2, "statements": []},
        {"format": 1, "statements": "x"},
        {"format": 1, "statements": ["x"]},
        _with(index="0"),
        _with(effect="MAYBE"),
        _with(action="PEEK"),
        _with(redaction="SOME"),
        _with(resources="t.c"),
        _with(resources=[["t"]]),
        _with(condition={}),
        _with(condition={"and": [{"const": True}]}),
        _with(condition={"const": "yes"}),
        _with(condition={"cmp": "~", "left": _OPERAND, "right": {"value": 1}}),
        _with(condition={"cmp": "=", "left": {"column": "t.c"}, "right": {"value": 1}}),
        _with(condition={"cmp": "=", "left": {"principal": "salary"}, "right": {"value": 1}}),
        _with(condition={"cmp": "=", "left": {"context": []}, "right": {"value": 1}}),
        _with(condition={"cmp": "=", "left": {"secret": 1}, "right": {"value": 1}}),
        _with(condition={"cmp": "=", "left": {"value": [1]}, "right": {"value": 1}}),
        _with(condition={"cmp": "=", "left": {"value": 1, "x": 2}, "right": {"value": 1}}),
        _with(condition={"in": _OPERAND, "values": []}),
        _with(condition={"is_null": _OPERAND, "negated": "no"}),
        _with(condition={"like": _OPERAND}),
        _with(condition={"frobnicate": _OPERAND}),
        _with(condition={"and": [{"not": {"const": True}}] * 200}),
    ],
)
def test_loader_refuses_malformed_documents(document: Any) -> None:
    with pytest.raises(CompiledFormatError):
        load_compiled(document)


def test_loader_reads_every_node_kind() -> None:
    condition = {
        "or": [
            {"and": [{"const": True}, {"not": {"is_null": {"principal": "id"}, "negated": True}}]},
            {"in": {"context": ["k"]}, "values": ["a", 1, None], "negated": True},
            {"like": _OPERAND, "pattern": "a%", "negated": False},
            {"cmp": "<=", "left": _OPERAND, "right": {"value": 2.5}},
        ]
    }
    loaded = load_compiled(_with(condition=condition))
    assert load_compiled(loaded.to_json()) == loaded
    assert loaded.to_json()["statements"][0]["condition"] == condition
