"""``compile_policy``: policy text → validated, compiled policy, or every error with its position.

Validation is against a ``SchemaInfo``: tables and columns exist, levels are known, DENY carries no
redaction, conditions on encrypted columns use only what a blind index can answer, literals fit
their column's type, LIKE only on plain text columns, and the hard limits of ``limits`` hold.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date, datetime

from policies.language import ast
from policies.language.compiled import (
    ACTIONS,
    EFFECTS,
    LEVEL_ACTIONS,
    CompiledPolicy,
    CompiledStatement,
    ResourcePattern,
)
from policies.language.errors import PolicyError
from policies.language.limits import MAX_CONDITION_NODES, MAX_IN_VALUES, MAX_SOURCE_BYTES, MAX_STATEMENTS
from policies.language.parser import is_blank, parse_line
from policies.language.schema import LEVELS, TEXT_TYPES, ColumnInfo, SchemaInfo

# Operators a blind index can answer: equality, and its negation, on a digest.
_ENCRYPTED_OPERATORS = frozenset({"=", "!="})
_PRINCIPAL_TYPES = ("USER", "SERVICE_ACCOUNT")


@dataclass(frozen=True)
class CompileResult:
    """The compiled policy when the source is valid (``errors`` empty), else None and every error."""

    compiled: CompiledPolicy | None
    errors: list[PolicyError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.compiled is not None


def compile_policy(source: str, schema: SchemaInfo) -> CompileResult:
    """Parse and validate ``source`` against ``schema``; collects every error instead of stopping."""
    size = len(source.encode("utf-8", errors="surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        return CompileResult(
            None,
            [
                PolicyError(
                    1,
                    1,
                    f"This policy is {size:,} bytes long; the limit is {MAX_SOURCE_BYTES:,}. Split it into "
                    "several policies.",
                )
            ],
        )
    errors: list[PolicyError] = []
    statements: list[CompiledStatement] = []
    count = 0
    for number, text in enumerate(source.split("\n"), start=1):
        if is_blank(text):
            continue
        count += 1
        if count > MAX_STATEMENTS:
            errors.append(
                PolicyError(
                    number,
                    1,
                    f"A policy holds at most {MAX_STATEMENTS} statements: split this one into several "
                    "policies and attach them to the same role.",
                )
            )
            break
        parsed = parse_line(text, number)
        errors.extend(parsed.errors)
        if parsed.statement is not None:
            checker = _StatementChecker(schema, parsed.statement, len(statements))
            compiled = checker.check()
            errors.extend(checker.errors)
            if compiled is not None:
                statements.append(compiled)
    if errors:
        return CompileResult(None, sorted(errors, key=lambda e: (e.line, e.column)))
    return CompileResult(CompiledPolicy(tuple(statements)), [])


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.7)
    return f" Did you mean {close[0]!r}?" if close else ""


class _StatementChecker:
    """Validates one parsed statement and builds its compiled form; errors accumulate in ``errors``."""

    def __init__(self, schema: SchemaInfo, statement: ast.Statement, index: int) -> None:
        self.schema = schema
        self.statement = statement
        self.index = index
        self.errors: list[PolicyError] = []
        # Tables the WHERE clause tests columns of, with where each was first mentioned.
        self.condition_tables: dict[str, ast.Position] = {}

    def error(self, pos: ast.Position, message: str) -> None:
        self.errors.append(PolicyError(pos.line, pos.column, message))

    def check(self) -> CompiledStatement | None:
        statement = self.statement
        start = ast.Position(statement.line, statement.column)
        effect = statement.effect.upper()
        if effect not in EFFECTS:
            self.error(start, f"A statement starts with ALLOW or DENY, not {statement.effect!r}.")
        action = statement.action.upper()
        if action not in ACTIONS:
            self.error(
                statement.action_pos,
                f"Unknown action {statement.action!r}: use one of {', '.join(ACTIONS)}."
                + _suggest(action, list(ACTIONS)),
            )
        redaction = self._check_redaction(effect, action)
        resources = self._check_resources(action)
        condition = self._check_condition(action, resources)
        if self.errors:
            return None
        return CompiledStatement(
            index=self.index,
            line=statement.line,
            column=statement.column,
            effect=effect,
            action=action,
            resources=resources,
            redaction=redaction,
            condition=condition,
        )

    def _check_redaction(self, effect: str, action: str) -> str | None:
        statement = self.statement
        if statement.redaction is None:
            # No WITH REDACTION on a READ or DETOKENIZATION grant means the column's default level.
            return "DEFAULT" if action in LEVEL_ACTIONS and effect == "ALLOW" else None
        pos = statement.redaction_pos
        level = statement.redaction.upper()
        if statement.redaction_op != "=":
            self.error(pos, f"Write WITH REDACTION = {level}, with '=' rather than {statement.redaction_op!r}.")
        if level not in LEVELS:
            self.error(
                pos,
                f"Unknown redaction level {statement.redaction!r}: use PLAIN_TEXT, MASKED, REDACTED or DEFAULT."
                + _suggest(level, sorted(LEVELS)),
            )
            return None
        if effect == "DENY":
            self.error(
                pos,
                "DENY takes no WITH REDACTION: a denied column is never returned. Remove WITH REDACTION, or "
                "write an ALLOW with a lower level instead.",
            )
        elif action not in LEVEL_ACTIONS and action in ACTIONS:
            self.error(pos, f"WITH REDACTION applies to READ and DETOKENIZATION only, not to {action}.")
        return level

    def _check_resources(self, action: str) -> tuple[ResourcePattern, ...] | None:
        statement = self.statement
        if statement.resources is None:
            if action in ("READ", "CREATE", "UPDATE", "DELETE"):
                self.error(
                    statement.action_pos,
                    f"{action} needs ON followed by the columns it covers, e.g. ON persons.email or ON persons.*.",
                )
            return None
        patterns = []
        for resource in statement.resources:
            pattern = self._resolve_resource(resource)
            if pattern is not None:
                patterns.append(pattern)
        return tuple(patterns)

    def _resolve_resource(self, resource: ast.Resource) -> ResourcePattern | None:
        table_name, rest = resource.parts[0], resource.parts[1:]
        table = self.schema.tables.get(table_name)
        if table is None:
            hint = _suggest(table_name, list(self.schema.tables))
            if rest and rest[0] in self.schema.tables:
                # Skyflow's docs sometimes prefix the vault's name (payments.consumers.*).
                hint = (
                    f" If {table_name!r} is the vault's name, leave it out: resources are written "
                    f"table.column, e.g. {'.'.join(rest)}{'.*' if resource.wildcard else ''}."
                )
            self.error(resource.pos, f"Unknown table {table_name!r}.{hint}")
            return None
        column = ".".join(rest)
        if resource.wildcard and not rest:
            return ResourcePattern(table_name, "*")
        if resource.wildcard:
            pattern = ResourcePattern(table_name, column + ".*")
            if not any(pattern.matches(name) for name in table.columns):
                self.error(
                    resource.pos,
                    f"Table {table_name!r} has no column {column!r} nor columns under it."
                    + _suggest(column, list(table.columns)),
                )
                return None
            return pattern
        if column not in table.columns:
            group = ResourcePattern(table_name, column + ".*")
            if any(group.matches(name) for name in table.columns):
                # Skyflow names a group of nested columns without the star: persons.phone_numbers.
                return group
            self.error(
                resource.pos, f"Table {table_name!r} has no column {column!r}." + _suggest(column, list(table.columns))
            )
            return None
        return ResourcePattern(table_name, column)

    # --- the WHERE clause ---------------------------------------------------------------------------

    def _check_condition(self, action: str, resources: tuple[ResourcePattern, ...] | None) -> ast.Condition | None:
        statement = self.statement
        if statement.condition is None:
            return None
        if statement.condition_size > MAX_CONDITION_NODES:
            self.error(
                statement.where_pos,
                f"This condition has {statement.condition_size} parts; the limit is {MAX_CONDITION_NODES}. Split "
                "the statement into several statements.",
            )
            return None
        condition = self._condition(statement.condition)
        if not self.condition_tables:
            return condition
        first_table, first_pos = next(iter(self.condition_tables.items()))
        if action == "TOKENIZATION":
            self.error(
                first_pos,
                "TOKENIZATION has no stored rows to test: its WHERE can use only principal.* and request.context.*.",
            )
        elif statement.resources is None:
            self.error(first_pos, f"A WHERE on columns needs ON {first_table}.… to say which rows it tests.")
        else:
            tables = {pattern.table for pattern in resources or ()} | {r.parts[0] for r in statement.resources}
            for table, pos in self.condition_tables.items():
                if tables != {table}:
                    on = ", ".join(sorted(tables))
                    self.error(
                        pos, f"The WHERE clause can test only columns of the table in ON ({on}), not of {table!r}."
                    )
        return condition

    def _condition(self, node: ast.Condition) -> ast.Condition:
        if isinstance(node, ast.And):
            return ast.And(tuple(self._condition(arg) for arg in node.args), pos=node.pos)
        if isinstance(node, ast.Or):
            return ast.Or(tuple(self._condition(arg) for arg in node.args), pos=node.pos)
        if isinstance(node, ast.Not):
            return ast.Not(self._condition(node.arg), pos=node.pos)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.In):
            return self._in(node)
        if isinstance(node, ast.IsNull):
            self._operand(node.operand, "IS NULL")
            return node
        assert isinstance(node, ast.Like), node
        return self._like(node)

    def _operand(self, operand: ast.Operand, operator: str) -> ColumnInfo | None:
        """Checks an operand where ``operator`` uses it; returns its column's schema for column operands."""
        if not isinstance(operand, ast.ColumnRef):
            return None
        table = self.schema.tables.get(operand.table)
        if table is None:
            self.error(
                operand.pos, f"Unknown table {operand.table!r}." + _suggest(operand.table, list(self.schema.tables))
            )
            return None
        self.condition_tables.setdefault(operand.table, operand.pos)
        info = table.columns.get(operand.column)
        if info is None:
            self.error(
                operand.pos,
                f"Table {operand.table!r} has no column {operand.column!r}."
                + _suggest(operand.column, list(table.columns)),
            )
            return None
        name = f"{operand.table}.{operand.column}"
        if info.encrypted:
            if not info.searchable:
                self.error(
                    operand.pos,
                    f"{name} is encrypted and has no blind index, so rows cannot be selected by it. Make the "
                    "column searchable in the vault schema, or test another column.",
                )
                return None
            if operator not in ("=", "!=", "IN", "NOT IN", "IS NULL"):
                self.error(
                    operand.pos,
                    f"{name} is encrypted: a WHERE can test it only with =, !=, IN, NOT IN or IS [NOT] NULL, "
                    f"not {operator}.",
                )
                return None
        elif info.data_type == "json" and operator != "IS NULL":
            self.error(operand.pos, f"{name} holds JSON: a WHERE can test it only with IS [NOT] NULL.")
            return None
        elif info.data_type == "boolean" and operator not in ("=", "!=", "IN", "NOT IN", "IS NULL"):
            self.error(operand.pos, f"{name} is a boolean: compare it with = or != TRUE/FALSE, not {operator}.")
            return None
        elif operator == "LIKE" and info.data_type not in TEXT_TYPES:
            self.error(operand.pos, f"LIKE works on text columns only; {name} is {info.data_type}.")
            return None
        return info

    def _literal(self, literal: ast.Literal, info: ColumnInfo | None, name: str) -> ast.Literal:
        """Checks a literal against the column it is compared with; returns it in the column's type."""
        value = literal.value
        if value is None:
            self.error(literal.pos, "Nothing equals NULL: write IS NULL or IS NOT NULL instead.")
            return literal
        if info is None:
            return literal
        kind = info.data_type
        coerced: ast.Value = value
        problem = ""
        if kind in TEXT_TYPES:
            if not isinstance(value, str):
                problem = f"{name} holds text ({kind}): write the value in quotes."
        elif kind == "integer":
            if type(value) is not int:
                problem = f"{name} holds whole numbers: write an integer such as 42."
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                problem = f"{name} holds numbers: write a number such as 4.2, without quotes."
        elif kind == "boolean":
            # Skyflow's own examples quote booleans ('TRUE'); read them as the boolean they mean.
            if isinstance(value, str) and value.lower() in ("true", "false"):
                coerced = value.lower() == "true"
            elif not isinstance(value, bool):
                problem = f"{name} is a boolean: compare it with TRUE or FALSE."
        elif kind == "date":
            if not isinstance(value, str) or not _is_iso(value, date.fromisoformat):
                problem = f"{name} holds dates: write one as 'YYYY-MM-DD'."
        else:  # datetime: json columns never get here, _operand refused them
            if not isinstance(value, str) or not _is_iso(value, datetime.fromisoformat):
                problem = f"{name} holds date-times: write one as 'YYYY-MM-DDTHH:MM:SS'."
        if problem:
            self.error(literal.pos, problem)
        return ast.Literal(coerced, pos=literal.pos)

    def _compare(self, node: ast.Compare) -> ast.Compare:
        left, right = node.left, node.right
        if isinstance(left, ast.ColumnRef) and isinstance(right, ast.ColumnRef):
            self.error(
                right.pos, "Compare a column with a value, principal.… or request.context.…, not with another column."
            )
            return node
        info = self._operand(left, node.op)
        name = f"{left.table}.{left.column}" if isinstance(left, ast.ColumnRef) else ""
        if isinstance(right, ast.Literal):
            right = self._literal(right, info, name)
            if isinstance(left, ast.PrincipalRef) and left.attribute == "type" and right.value is not None:
                if right.value not in _PRINCIPAL_TYPES:
                    self.error(right.pos, f"principal.type is USER or SERVICE_ACCOUNT, never {right.value!r}.")
        if isinstance(left, ast.Literal) and left.value is None:
            self._literal(left, None, "")
        return ast.Compare(node.op, left, right, pos=node.pos)

    def _in(self, node: ast.In) -> ast.In:
        if len(node.values) > MAX_IN_VALUES:
            self.error(node.pos, f"This IN list has {len(node.values)} values; the limit is {MAX_IN_VALUES}.")
            return node
        info = self._operand(node.operand, "NOT IN" if node.negated else "IN")
        name = f"{node.operand.table}.{node.operand.column}" if isinstance(node.operand, ast.ColumnRef) else ""
        values = tuple(self._literal(value, info, name) for value in node.values)
        return ast.In(node.operand, values, node.negated, pos=node.pos)

    def _like(self, node: ast.Like) -> ast.Like:
        self._operand(node.operand, "LIKE")
        return node


def _is_iso(text: str, parse: object) -> bool:
    try:
        parse(text)  # type: ignore[operator]
    except ValueError:
        return False
    return True
