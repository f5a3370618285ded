"""Hostile input: whatever the text, compiling gives a result or errors with positions, never an exception."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.engine import CompiledPolicySet, Principal, decide
from policies.language import SchemaInfo, ast, compile_policy, load_compiled
from tests.policies.conftest import GOLDEN

SCHEMA = SchemaInfo.from_dict(json.loads((GOLDEN / "schema.json").read_text()))
VALID = [
    line
    for path in sorted(GOLDEN.glob("*.policy"))
    if "errors" not in path.name
    for line in path.read_text().split("\n")
    if line.strip() and not line.startswith("#")
]
TOKENS = [
    "ALLOW", "DENY", "READ", "CREATE", "UPDATE", "DELETE", "TOKENIZATION", "DETOKENIZATION", "ON", "WITH",
    "REDACTION", "=", "PLAIN_TEXT", "MASKED", "REDACTED", "DEFAULT", "WHERE", "AND", "OR", "NOT", "IN", "IS",
    "NULL", "LIKE", "TRUE", "FALSE", "(", ")", ",", ".", "*", "<", "<=", ">", ">=", "!=", "<>", "persons",
    "persons.name", "persons.ssn", "persons.*", "principal.id", "principal.type", "request.context.k", "'EU'",
    "'%'", '"x"', "42", "-1.5", "--", "#", "\n", "'", "\u2018", "1e999",
]  # fmt: skip


def _check(source: str) -> None:
    result = compile_policy(source, SCHEMA)
    if result.compiled is None:
        assert result.errors
        for error in result.errors:
            assert error.line >= 1 and error.column >= 1 and error.message
        return
    assert result.errors == []
    document = json.loads(json.dumps(result.compiled.to_json()))
    assert load_compiled(document) == result.compiled
    policies = CompiledPolicySet.build([("fuzz", document)], SCHEMA)
    for action in ("READ", "DELETE", "DETOKENIZATION"):
        decision = decide(policies, Principal("sa"), action, "persons", None, None, {"k": "EU"})
        decision.as_dict()
        decision.visible({"name": "x", "region": "EU", "vip": True})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(source: str) -> None:
    _check(source)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup_never_raises(tokens: list[str]) -> None:
    _check(" ".join(tokens))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(VALID), st.data())
def test_mutated_valid_statements_never_raise(line: str, data: st.DataObject) -> None:
    chars = list(line)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(chars)))
        kind = data.draw(st.sampled_from(["delete", "insert", "token"]))
        if kind == "delete" and position < len(chars):
            del chars[position]
        elif kind == "insert":
            chars.insert(position, data.draw(st.characters()))
        else:
            chars[position:position] = list(" " + data.draw(st.sampled_from(TOKENS)) + " ")
    _check("".join(chars))


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


INJECTIONS = st.sampled_from(
    [
        "'; DROP TABLE persons; --",
        "x' OR '1'='1",
        '" OR ""="',
        "1; DELETE FROM vaults_record",
        "\\'; SELECT pg_sleep(10); --",
        "%' UNION SELECT * FROM accounts_user --",
    ]
) | st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=80)


@settings(max_examples=300, deadline=None)
@given(INJECTIONS)
def test_injection_looking_literals_stay_literals(text: str) -> None:
    result = compile_policy(f"ALLOW READ ON persons.name WHERE persons.region = {_quote(text)}", SCHEMA)
    assert result.compiled is not None, result.errors
    condition = result.compiled.statements[0].condition
    assert condition == ast.Compare("=", ast.ColumnRef("persons", "region"), ast.Literal(text))
    policies = CompiledPolicySet.build([("p", result.compiled)], SCHEMA)
    decision = decide(policies, Principal("sa"), "READ", "persons", ["name"])
    assert decision.row_allowed({"region": text})
    assert not decision.row_allowed({"region": text + "x"})
