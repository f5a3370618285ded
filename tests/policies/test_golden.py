"""Golden files: each ``golden/*.policy`` with its expected errors or decisions beside it.

``*.errors.json`` lists ``[line, column, message substring]`` for every error, in order.
``*.decisions.json`` lists questions for ``decide`` and what the answer must say. A ``#@policy name``
comment line starts another policy of the same set (line numbers stay those of the file), so
several roles' policies can be tested together.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies.engine import CompiledPolicySet, Principal, decide
from policies.language import SchemaInfo, compile_policy, condition_to_json

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = SchemaInfo.from_dict(json.loads((GOLDEN / "schema.json").read_text()))


def _policies(path: Path) -> list[tuple[str, str]]:
    """Split a golden file at ``#@policy`` lines, blanking the other parts so line numbers hold."""
    lines = path.read_text().split("\n")
    names: list[tuple[int, str]] = [
        (i, line.split(None, 1)[1]) for i, line in enumerate(lines) if line.startswith("#@policy")
    ]
    if not names:
        return [(path.stem, "\n".join(lines))]
    parts = []
    for n, (start, name) in enumerate(names):
        end = names[n + 1][0] if n + 1 < len(names) else len(lines)
        parts.append((name, "\n".join(line if start <= i < end else "" for i, line in enumerate(lines))))
    return parts


def _cases(suffix: str) -> list[Any]:
    return [pytest.param(path, id=path.name) for path in sorted(GOLDEN.glob(f"*.{suffix}.json"))]


@pytest.mark.parametrize("expected_path", _cases("errors"))
def test_golden_errors(expected_path: Path) -> None:
    source = (GOLDEN / expected_path.name.replace(".errors.json", ".policy")).read_text()
    expected = json.loads(expected_path.read_text())
    result = compile_policy(source, SCHEMA)
    assert result.compiled is None
    got = [(e.line, e.column, e.message) for e in result.errors]
    assert len(got) == len(expected), got
    for (line, column, message), (want_line, want_column, fragment) in zip(got, expected, strict=True):
        assert (line, column) == (want_line, want_column), (line, column, message)
        assert fragment in message


def _decision_cases() -> list[Any]:
    params = []
    for path in sorted(GOLDEN.glob("*.decisions.json")):
        for case in json.loads(path.read_text()):
            params.append(pytest.param(path, case, id=f"{path.stem.split('.')[0]}: {case['name']}"))
    return params


def _policy_set(policy_path: Path) -> CompiledPolicySet:
    compiled = []
    for name, source in _policies(policy_path):
        result = compile_policy(source, SCHEMA)
        assert result.errors == [], result.errors
        assert result.compiled is not None
        # Through JSON, as the policy is stored and loaded in production.
        compiled.append((name, json.loads(json.dumps(result.compiled.to_json()))))
    return CompiledPolicySet.build(compiled, SCHEMA)


@pytest.mark.parametrize(("expected_path", "case"), _decision_cases())
def test_golden_decisions(expected_path: Path, case: dict[str, Any]) -> None:
    policy_set = _policy_set(GOLDEN / expected_path.name.replace(".decisions.json", ".policy"))
    principal = Principal(**case.get("principal", {"id": "sa-1"}))
    decision = decide(
        policy_set,
        principal,
        case["action"],
        case["table"],
        case.get("columns"),
        case.get("redaction"),
        case.get("context", {}),
    )
    expect = case["expect"]
    assert decision.allowed is expect["allowed"]
    if "columns" in expect:
        assert list(decision.columns) == expect["columns"]
    if "denied_columns" in expect:
        assert list(decision.denied_columns) == expect["denied_columns"]
    if "unknown_columns" in expect:
        assert list(decision.unknown_columns) == expect["unknown_columns"]
    if "lines" in expect:
        assert sorted({ref.line for ref in decision.statements}) == expect["lines"]
    if "row_filter" in expect:
        assert condition_to_json(decision.row_filter) == expect["row_filter"]
    for row in expect.get("rows", []):
        visible = decision.visible(row["row"])
        if "visible" in row:
            assert visible == row["visible"], row
        for column, level in row.get("visible_includes", {}).items():
            assert visible[column] == level
        for column in row.get("visible_excludes", []):
            assert column not in visible
        assert decision.row_allowed(row["row"]) is row.get("row_allowed", bool(visible))
    for write in expect.get("writes", []):
        if "row" in write:
            assert decision.row_allowed(write["row"]) is write["allowed"], write
        else:
            both = decision.row_allowed(write["before"]) and decision.row_allowed(write["after"])
            assert both is write["allowed"], write
    # Asking again gives the same answer (memoized or recomputed from the memoized plan).
    again = decide(
        policy_set,
        principal,
        case["action"],
        case["table"],
        case.get("columns"),
        case.get("redaction"),
        case.get("context", {}),
    )
    assert again == decision


def test_every_golden_policy_has_expectations() -> None:
    for policy in GOLDEN.glob("*.policy"):
        assert (GOLDEN / f"{policy.stem}.errors.json").exists() or (
            GOLDEN / f"{policy.stem}.decisions.json"
        ).exists(), policy
