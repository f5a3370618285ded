"""The compiled form of a policy: validated statements, their JSON document (``format`` 1) and its loader.

The document is what ``Policy.compiled`` stores::

    {"format": 1, "statements": [
        {"index": 0, "line": 1, "column": 1, "effect": "ALLOW", "action": "READ",
         "resources": [["persons", "name"], ["persons", "*"], ["persons", "phones.*"]],  # or null
         "redaction": "PLAIN_TEXT",          # READ/DETOKENIZATION: a level or "DEFAULT"; otherwise null
         "condition": {...} or null}]}

Conditions: ``{"and": [c, …]}``, ``{"or": [c, …]}``, ``{"not": c}``,
``{"cmp": "=", "left": o, "right": o}``, ``{"in": o, "values": [v, …], "negated": false}``,
``{"is_null": o, "negated": false}``, ``{"like": o, "pattern": "a%", "negated": false}``,
``{"const": true}``; operands: ``{"column": [table, column]}``, ``{"principal": "email"}``,
``{"context": ["key", …]}``, ``{"value": v}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.language import ast
from policies.language.limits import MAX_CONDITION_NODES, MAX_IN_VALUES, MAX_STATEMENTS

FORMAT = 1
EFFECTS = ("ALLOW", "DENY")
ACTIONS = ("READ", "CREATE", "UPDATE", "DELETE", "TOKENIZATION", "DETOKENIZATION")
LEVEL_ACTIONS = frozenset({"READ", "DETOKENIZATION"})
COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})


class CompiledFormatError(ValueError):
    """A stored compiled policy that this version cannot load: recompile it from its source."""


@dataclass(frozen=True, slots=True)
class ResourcePattern:
    """A table and a column pattern: a column name, ``*`` (every column) or ``group.*`` (a nested group)."""

    table: str
    column: str

    def matches(self, column: str) -> bool:
        if self.column == "*":
            return True
        if self.column.endswith(".*"):
            prefix = self.column[:-2]
            return column == prefix or column.startswith(prefix + ".")
        return column == self.column


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """A validated statement: effect, action, resources (None = the whole vault), level and condition."""

    index: int
    line: int
    column: int
    effect: str
    action: str
    resources: tuple[ResourcePattern, ...] | None
    redaction: str | None
    condition: ast.Condition | None


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A policy ready for the engine."""

    statements: tuple[CompiledStatement, ...]

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "statements": [_statement_to_json(s) for s in self.statements]}


def _statement_to_json(statement: CompiledStatement) -> dict[str, Any]:
    return {
        "index": statement.index,
        "line": statement.line,
        "column": statement.column,
        "effect": statement.effect,
        "action": statement.action,
        "resources": None
        if statement.resources is None
        else [[resource.table, resource.column] for resource in statement.resources],
        "redaction": statement.redaction,
        "condition": None if statement.condition is None else condition_to_json(statement.condition),
    }


def operand_to_json(operand: ast.Operand) -> dict[str, Any]:
    if isinstance(operand, ast.ColumnRef):
        return {"column": [operand.table, operand.column]}
    if isinstance(operand, ast.PrincipalRef):
        return {"principal": operand.attribute}
    if isinstance(operand, ast.ContextRef):
        return {"context": list(operand.path)}
    return {"value": operand.value}


def condition_to_json(condition: ast.Condition) -> dict[str, Any]:
    """The JSON form of a condition (also used for a Decision's row conditions in the simulator)."""
    if isinstance(condition, ast.And):
        return {"and": [condition_to_json(arg) for arg in condition.args]}
    if isinstance(condition, ast.Or):
        return {"or": [condition_to_json(arg) for arg in condition.args]}
    if isinstance(condition, ast.Not):
        return {"not": condition_to_json(condition.arg)}
    if isinstance(condition, ast.Compare):
        return {"cmp": condition.op, "left": operand_to_json(condition.left), "right": operand_to_json(condition.right)}
    if isinstance(condition, ast.In):
        return {
            "in": operand_to_json(condition.operand),
            "values": [literal.value for literal in condition.values],
            "negated": condition.negated,
        }
    if isinstance(condition, ast.IsNull):
        return {"is_null": operand_to_json(condition.operand), "negated": condition.negated}
    if isinstance(condition, ast.Like):
        return {"like": operand_to_json(condition.operand), "pattern": condition.pattern, "negated": condition.negated}
    return {"const": condition.value}


# --- loading ----------------------------------------------------------------------------------------


def load_compiled(document: Mapping[str, Any]) -> CompiledPolicy:
    """Read a stored compiled policy back; raises ``CompiledFormatError`` for anything malformed."""
    if not isinstance(document, Mapping):
        raise CompiledFormatError("A compiled policy is a JSON object.")
    if document.get("format") != FORMAT:
        raise CompiledFormatError(
            f"Compiled policy format {document.get('format')!r} is not {FORMAT}: recompile the policy from its source."
        )
    raw_statements = document.get("statements")
    if not isinstance(raw_statements, list) or len(raw_statements) > MAX_STATEMENTS:
        raise CompiledFormatError(f"'statements' must be a list of at most {MAX_STATEMENTS}.")
    return CompiledPolicy(tuple(_load_statement(raw) for raw in raw_statements))


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise CompiledFormatError(message)


def _load_statement(raw: Any) -> CompiledStatement:
    _require(isinstance(raw, Mapping), "Each compiled statement is a JSON object.")
    for key in ("index", "line", "column"):
        _require(type(raw.get(key)) is int, f"A compiled statement's {key!r} must be an integer.")
    _require(raw.get("effect") in EFFECTS, f"Unknown effect {raw.get('effect')!r}.")
    _require(raw.get("action") in ACTIONS, f"Unknown action {raw.get('action')!r}.")
    redaction = raw.get("redaction")
    _require(redaction is None or redaction in ("PLAIN_TEXT", "MASKED", "REDACTED", "DEFAULT"), "Unknown level.")
    raw_resources = raw.get("resources")
    resources: tuple[ResourcePattern, ...] | None = None
    if raw_resources is not None:
        _require(isinstance(raw_resources, list), "'resources' must be a list or null.")
        loaded = []
        for item in raw_resources:
            _require(
                isinstance(item, list) and len(item) == 2 and all(isinstance(part, str) for part in item),
                "Each resource is a [table, column] pair.",
            )
            loaded.append(ResourcePattern(item[0], item[1]))
        resources = tuple(loaded)
    raw_condition = raw.get("condition")
    budget = [MAX_CONDITION_NODES * 2]
    condition = None if raw_condition is None else _load_condition(raw_condition, budget)
    return CompiledStatement(
        index=raw["index"],
        line=raw["line"],
        column=raw["column"],
        effect=raw["effect"],
        action=raw["action"],
        resources=resources,
        redaction=redaction,
        condition=condition,
    )


def _spend(budget: list[int]) -> None:
    # Bounds the recursion below: a stored condition is never bigger than the compiler allowed.
    budget[0] -= 1
    _require(budget[0] >= 0, "A compiled condition is larger than the compiler allows.")


def _load_value(raw: Any) -> ast.Value:
    _require(raw is None or isinstance(raw, str | int | float | bool), f"Unsupported literal {raw!r}.")
    return raw  # type: ignore[no-any-return]


def _load_operand(raw: Any, budget: list[int]) -> ast.Operand:
    _spend(budget)
    _require(isinstance(raw, Mapping) and len(raw) == 1, "An operand is a one-key JSON object.")
    ((kind, value),) = raw.items()
    if kind == "column":
        _require(isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value), "Bad column.")
        return ast.ColumnRef(value[0], value[1])
    if kind == "principal":
        _require(value in ("id", "email", "type", "name"), "Bad principal attribute.")
        return ast.PrincipalRef(value)
    if kind == "context":
        _require(isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value), "Bad context key.")
        return ast.ContextRef(tuple(value))
    _require(kind == "value", f"Unknown operand {kind!r}.")
    return ast.Literal(_load_value(value))


def _load_condition(raw: Any, budget: list[int]) -> ast.Condition:
    _spend(budget)
    _require(isinstance(raw, Mapping) and bool(raw), "A condition is a JSON object.")
    if "and" in raw or "or" in raw:
        args = raw.get("and", raw.get("or"))
        _require(isinstance(args, list) and len(args) >= 2, "'and'/'or' take a list of at least two conditions.")
        loaded = tuple(_load_condition(arg, budget) for arg in args)
        return ast.And(loaded) if "and" in raw else ast.Or(loaded)
    if "not" in raw:
        return ast.Not(_load_condition(raw["not"], budget))
    if "const" in raw:
        _require(isinstance(raw["const"], bool), "'const' is true or false.")
        return ast.Constant(raw["const"])
    negated = raw.get("negated", False)
    _require(isinstance(negated, bool), "'negated' is true or false.")
    if "cmp" in raw:
        _require(raw["cmp"] in COMPARISONS, f"Unknown comparison {raw['cmp']!r}.")
        return ast.Compare(raw["cmp"], _load_operand(raw.get("left"), budget), _load_operand(raw.get("right"), budget))
    if "in" in raw:
        values = raw.get("values")
        _require(isinstance(values, list) and 0 < len(values) <= MAX_IN_VALUES, "'values' is a non-empty list.")
        return ast.In(_load_operand(raw["in"], budget), tuple(ast.Literal(_load_value(v)) for v in values), negated)
    if "is_null" in raw:
        return ast.IsNull(_load_operand(raw["is_null"], budget), negated)
    _require("like" in raw and isinstance(raw.get("pattern"), str), f"Unknown condition {sorted(raw)!r}.")
    return ast.Like(_load_operand(raw["like"], budget), raw["pattern"], negated)
