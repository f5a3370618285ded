"""The decision engine: condition algebra, single-row evaluation, folding, memoization, schema drift."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from policies.engine import CompiledPolicySet, Principal, decide, evaluate, like_regex, row_matches
from policies.engine import policy_set as policy_set_module
from policies.engine.conditions import and_, compare, fold, lookup_context, not_, or_
from policies.language import SchemaInfo, ast, compile_policy
from policies.language.ast import FALSE, TRUE

A = ast.Compare("=", ast.ColumnRef("t", "a"), ast.Literal(1))
B = ast.Compare("=", ast.ColumnRef("t", "b"), ast.Literal(2))
SA = Principal("sa-1")


def _set(source: str, schema: SchemaInfo) -> CompiledPolicySet:
    result = compile_policy(source, schema)
    assert result.compiled is not None, result.errors
    return CompiledPolicySet.build([("p", result.compiled)], schema)


# --- condition algebra ------------------------------------------------------------------------------


def test_and_or_not_simplify() -> None:
    assert and_([]) == TRUE and or_([]) == FALSE
    assert and_([TRUE, A]) == A and and_([A, FALSE, B]) == FALSE
    assert or_([FALSE, A]) == A and or_([A, TRUE]) == TRUE
    assert and_([A, and_([A, B])]) == ast.And((A, B))
    assert or_([A, or_([B, A])]) == ast.Or((A, B))
    assert or_([ast.And((A, B)), A]) == A  # absorption
    assert not_(TRUE) == FALSE and not_(FALSE) == TRUE and not_(ast.Not(A)) == A and not_(A) == ast.Not(A)


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        ("=", 1, 1.0, True),
        ("=", True, 1, False),
        ("!=", True, 1, True),
        ("<", "a", 1, False),
        ("!=", "a", "b", True),
        ("<", 1, 2, True),
        ("<=", 2, 2, True),
        (">", "b", "a", True),
        (">=", 1, 2, False),
        ("=", None, None, False),
        ("!=", None, "x", False),
        ("=", [1], [1], False),
        ("=", date(2000, 1, 2), "2000-01-02", True),
    ],
)
def test_compare(op: str, left: Any, right: Any, expected: bool) -> None:
    assert compare(op, left, right) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("a%", "abc", True),
        ("a_c", "abc", True),
        ("a_c", "abbc", False),
        ("100\\%", "100%", True),
        ("100\\%", "1000", False),
        ("%.com", "x.com", True),
        ("%.com", "xcom", False),
        ("a\\", "a\\", True),
        ("%", "multi\nline", True),
    ],
)
def test_like(pattern: str, value: str, expected: bool) -> None:
    assert (like_regex(pattern).fullmatch(value) is not None) is expected


def test_lookup_context() -> None:
    context = {"a": {"b": 1}, "c": "x"}
    assert lookup_context(context, ("a", "b")) == 1
    assert lookup_context(context, ("c", "d")) is None
    assert lookup_context(None, ("a",)) is None
    assert lookup_context(context, ("zzz",)) is None


def test_row_matches_every_node() -> None:
    column = ast.ColumnRef("t", "c")
    row = {"c": "abc", "n": None}
    assert row_matches(ast.In(column, (ast.Literal("abc"),)), row)
    assert not row_matches(ast.In(column, (ast.Literal("abc"),), negated=True), row)
    assert not row_matches(ast.In(ast.ColumnRef("t", "n"), (ast.Literal("x"),), negated=True), row)
    assert row_matches(ast.IsNull(ast.ColumnRef("t", "n")), row)
    assert row_matches(ast.IsNull(column, negated=True), row)
    assert row_matches(ast.Like(column, "a%"), row)
    assert not row_matches(ast.Like(ast.ColumnRef("t", "n"), "%", negated=True), row)
    assert row_matches(ast.Or((ast.Not(ast.Like(column, "a%")), TRUE)), row)
    assert not row_matches(ast.And((TRUE, FALSE)), row)
    # Principal and context never reach a Decision's conditions; alone they read as NULL.
    assert row_matches(ast.IsNull(ast.PrincipalRef("id")), row)


def test_evaluate_with_resolver() -> None:
    condition = ast.Compare("=", ast.PrincipalRef("id"), ast.Literal("x"))
    assert evaluate(condition, lambda operand: "x" if isinstance(operand, ast.PrincipalRef) else operand.value)  # type: ignore[union-attr]


def test_fold_keeps_column_conditions_and_folds_the_rest() -> None:
    column = ast.ColumnRef("t", "c")

    def value_of(operand: ast.Operand) -> Any:
        if isinstance(operand, ast.ContextRef):
            return {"k": "v", "list": [1]}.get(operand.path[0])
        return operand.value if isinstance(operand, ast.Literal) else None

    assert fold(ast.Compare("=", column, ast.ContextRef(("k",))), value_of) == ast.Compare(
        "=", column, ast.Literal("v")
    )
    assert fold(ast.Compare("=", column, ast.ContextRef(("gone",))), value_of) == FALSE
    assert fold(ast.Compare("=", column, ast.ContextRef(("list",))), value_of) == FALSE
    assert fold(ast.Like(column, "a%"), value_of) == ast.Like(column, "a%")
    assert fold(ast.IsNull(ast.ContextRef(("gone",))), value_of) == TRUE
    assert fold(ast.Not(ast.In(ast.ContextRef(("k",)), (ast.Literal("v"),))), value_of) == FALSE
    assert fold(TRUE, value_of) == TRUE


# --- decide -----------------------------------------------------------------------------------------


def test_static_answers_are_memoized(schema: SchemaInfo) -> None:
    policies = _set("ALLOW READ ON persons.name WITH REDACTION = PLAIN_TEXT", schema)
    first = decide(policies, SA, "READ", "persons", ["name"], "PLAIN_TEXT", {"x": 1})
    assert decide(policies, Principal("other"), "READ", "persons", ["name"], "PLAIN_TEXT", {}) is first


def test_context_answers_are_memoized_per_value(schema: SchemaInfo) -> None:
    policies = _set("ALLOW READ ON persons.name WHERE persons.agent = request.context.agent", schema)
    one = decide(policies, SA, "READ", "persons", ["name"], None, {"agent": 1})
    assert decide(policies, SA, "READ", "persons", ["name"], None, {"agent": 1}) is one
    # 1 and True hash alike but are different values here.
    other = decide(policies, SA, "READ", "persons", ["name"], None, {"agent": True})
    assert other is not one
    assert other.columns["name"].condition == ast.Compare("=", ast.ColumnRef("persons", "agent"), ast.Literal(True))
    unhashable = decide(policies, SA, "READ", "persons", ["name"], None, {"agent": {"nested": 1}})
    assert not unhashable.allowed


def test_memo_limits(schema: SchemaInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy_set_module, "MEMO_LIMIT", 2)
    monkeypatch.setattr(policy_set_module, "VALUES_LIMIT", 2)
    policies = _set("ALLOW READ ON persons.name WHERE persons.agent = request.context.agent", schema)
    for n in range(5):
        decision = decide(policies, SA, "READ", "persons", ["name"], None, {"agent": n})
        assert decision.columns["name"].condition == ast.Compare("=", ast.ColumnRef("persons", "agent"), ast.Literal(n))
    for table in ("persons", "consumers", "patients"):
        decide(policies, SA, "READ", table)


def test_bad_questions_raise(schema: SchemaInfo) -> None:
    policies = _set("ALLOW READ ON persons.name", schema)
    with pytest.raises(ValueError, match="Unknown action"):
        decide(policies, SA, "PEEK", "persons")
    with pytest.raises(ValueError, match="Unknown redaction level"):
        decide(policies, SA, "READ", "persons", redaction="CLEAR")


def test_duplicate_columns_are_asked_once(schema: SchemaInfo) -> None:
    policies = _set("ALLOW READ ON persons.name", schema)
    assert list(decide(policies, SA, "READ", "persons", ["name", "name"]).columns) == ["name"]


def test_levels_stop_at_an_unconditional_one(schema: SchemaInfo) -> None:
    policies = _set(
        "ALLOW READ ON persons.ssn WITH REDACTION = MASKED\n"
        "ALLOW READ ON persons.ssn WITH REDACTION = REDACTED WHERE persons.region = 'EU'",
        schema,
    )
    column = decide(policies, SA, "READ", "persons", ["ssn"], "PLAIN_TEXT").columns["ssn"]
    assert [grant.level for grant in column.levels] == ["MASKED"]
    assert column.level_for({}) == "MASKED"


def test_level_for_a_row_outside_every_level(schema: SchemaInfo) -> None:
    policies = _set("ALLOW READ ON persons.ssn WHERE persons.region = 'EU'", schema)
    column = decide(policies, SA, "READ", "persons", ["ssn"]).columns["ssn"]
    assert column.level_for({"region": "US"}) is None


def test_as_dict_is_json_ready(schema: SchemaInfo) -> None:
    import json

    policies = _set("ALLOW READ ON persons.ssn WITH REDACTION = PLAIN_TEXT WHERE persons.region = 'EU'", schema)
    document = decide(policies, SA, "READ", "persons", ["ssn", "name", "nope"]).as_dict()
    assert json.loads(json.dumps(document)) == document
    assert document["denied_columns"] == ["name"] and document["unknown_columns"] == ["nope"]
    assert document["statements"] == [{"policy_id": "p", "index": 0, "line": 1, "effect": "ALLOW"}]
    assert document["columns"]["ssn"]["levels"][0]["level"] == "MASKED"


def test_build_accepts_stored_json_and_survives_schema_drift(schema: SchemaInfo) -> None:
    source = (
        "ALLOW READ ON persons.name, persons.ssn WITH REDACTION = PLAIN_TEXT\n"
        "ALLOW READ ON persons.email WITH REDACTION = PLAIN_TEXT WHERE persons.region = 'EU'\n"
        "DENY READ ON persons.ssn WHERE persons.vip = TRUE\n"
        "ALLOW READ ON consumers.*"
    )
    result = compile_policy(source, schema)
    assert result.compiled is not None
    # Later the schema loses persons.region, persons.vip and the consumers table.
    shrunk = SchemaInfo(
        tables={
            "persons": type(schema.tables["persons"])(
                columns={k: v for k, v in schema.tables["persons"].columns.items() if k not in ("region", "vip")}
            )
        }
    )
    policies = CompiledPolicySet.build([("p", result.compiled.to_json())], shrunk)
    assert len(policies.warnings) == 3
    decision = decide(policies, SA, "READ", "persons", ["name", "ssn", "email"], "PLAIN_TEXT")
    # The ALLOW testing a vanished column grants nothing; the DENY testing one denies everywhere.
    assert list(decision.columns) == ["name"]
    assert decision.denied_columns == ("ssn", "email")


def test_write_with_no_columns_to_set_is_refused(schema: SchemaInfo) -> None:
    policies = _set("ALLOW CREATE ON persons.*", schema)
    assert not decide(policies, SA, "CREATE", "persons", []).allowed
    assert decide(policies, SA, "CREATE", "persons", ["name"]).allowed


def test_references_skip_constants() -> None:
    from policies.engine.conditions import references

    assert references(ast.And((TRUE, ast.IsNull(ast.ContextRef(("k",)))))) == (set(), {("k",)}, False)


def test_a_stored_literal_to_column_comparison_folds_to_false(schema: SchemaInfo) -> None:
    # The compiler always puts the column on the left; a hand-written stored form might not.
    document = {
        "format": 1,
        "statements": [
            {
                "index": 0,
                "line": 1,
                "column": 1,
                "effect": "ALLOW",
                "action": "READ",
                "resources": [["persons", "name"]],
                "redaction": "PLAIN_TEXT",
                "condition": {
                    "and": [
                        {"cmp": "=", "left": {"value": 1}, "right": {"column": ["persons", "age"]}},
                        {"is_null": {"principal": "email"}, "negated": False},
                    ]
                },
            }
        ],
    }
    policies = CompiledPolicySet.build([("p", document)], schema)
    assert not decide(policies, SA, "READ", "persons", ["name"]).allowed
