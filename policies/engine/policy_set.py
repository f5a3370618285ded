"""``CompiledPolicySet`` and ``decide``: the policies bound to a principal, indexed once, asked many times.

``build`` expands every statement onto the (action, table, column) cells it covers, so a question
reads one dict entry per column and never scans statements. Each distinct question (action, table,
columns, level) is planned once and memoized on the set; when its statements do not look at the
principal or the request context the whole Decision is memoized, otherwise decisions are memoized
per the few values they depend on. Policy-set versions are immutable: a change builds a new set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policies.engine.conditions import and_, fold, lookup_context, not_, or_, references
from policies.engine.decision import ColumnDecision, Decision, LevelGrant, Principal, StatementRef
from policies.language import ast
from policies.language.ast import FALSE, TRUE
from policies.language.compiled import ACTIONS, LEVEL_ACTIONS, CompiledPolicy, load_compiled
from policies.language.schema import LEVELS, REVEAL_ORDER, SchemaInfo

# Distinct questions remembered per set, and distinct principal/context values per question; past
# that the memo starts over, so hostile context values cannot grow memory without bound.
MEMO_LIMIT = 4096
VALUES_LIMIT = 1024
_RANK = {level: rank for rank, level in enumerate(REVEAL_ORDER)}
# Actions whose row filter requires every asked column, not just one (a write touches them all).
_ALL_COLUMNS_ACTIONS = frozenset({"CREATE", "UPDATE", "DELETE"})


@dataclass(frozen=True, slots=True)
class _Rule:
    level: str | None
    condition: ast.Condition | None
    ref: StatementRef
    dynamic: bool


@dataclass(frozen=True, slots=True)
class _ColumnRules:
    allows: tuple[_Rule, ...]
    denies: tuple[_Rule, ...]


_NO_RULES = _ColumnRules((), ())


@dataclass(frozen=True, slots=True)
class _ColumnPlan:
    name: str
    # (capped level or None, condition, statement) per ALLOW; (condition, statement) per DENY.
    allows: tuple[tuple[str | None, ast.Condition | None, StatementRef], ...]
    denies: tuple[tuple[ast.Condition | None, StatementRef], ...]


class _Plan:
    """One question's relevant statements, with the principal/context values its answer depends on."""

    __slots__ = ("action", "table", "columns", "explicit", "unknown", "attributes", "paths", "cache")

    def __init__(
        self,
        action: str,
        table: str,
        columns: tuple[_ColumnPlan, ...],
        explicit: bool,
        unknown: tuple[str, ...],
        attributes: tuple[str, ...],
        paths: tuple[tuple[str, ...], ...],
    ) -> None:
        self.action = action
        self.table = table
        self.columns = columns
        self.explicit = explicit
        self.unknown = unknown
        self.attributes = attributes
        self.paths = paths
        self.cache: dict[tuple[Any, ...], Decision] = {}

    def decide(self, principal: Principal, context: Mapping[str, Any] | None) -> Decision:
        values = tuple(getattr(principal, name) for name in self.attributes) + tuple(
            # The type is part of the key: 1, 1.0 and True hash alike but compare differently.
            (value.__class__, value)
            for value in (lookup_context(context, path) for path in self.paths)
        )
        try:
            decision = self.cache.get(values)
        except TypeError:
            # An unhashable context value (a list, an object): answer without remembering.
            return self.compute(principal, context)
        if decision is None:
            decision = self.compute(principal, context)
            if len(self.cache) >= VALUES_LIMIT:
                self.cache.clear()
            self.cache[values] = decision
        return decision

    def compute(self, principal: Principal | None, context: Mapping[str, Any] | None) -> Decision:
        def value_of(operand: ast.Operand) -> Any:
            if isinstance(operand, ast.PrincipalRef):
                return getattr(principal, operand.attribute, None)
            if isinstance(operand, ast.ContextRef):
                return lookup_context(context, operand.path)
            if isinstance(operand, ast.Literal):
                return operand.value
            return None

        def resolved(condition: ast.Condition | None) -> ast.Condition:
            return TRUE if condition is None else fold(condition, value_of)

        granted: dict[str, ColumnDecision] = {}
        denied: list[str] = []
        column_conditions: list[ast.Condition] = []
        every_column = True
        deciding: dict[StatementRef, None] = {}
        for plan in self.columns:
            refs: dict[StatementRef, None] = {}
            deny_parts = []
            for condition, ref in plan.denies:
                part = resolved(condition)
                if part != FALSE:
                    deny_parts.append(part)
                    refs[ref] = None
            deny = or_(deny_parts)
            by_level: dict[str | None, list[ast.Condition]] = {}
            if deny != TRUE:
                for level, condition, ref in plan.allows:
                    part = resolved(condition)
                    if part != FALSE:
                        by_level.setdefault(level, []).append(part)
                        refs[ref] = None
            allowed = not_(deny)
            grants: list[LevelGrant] = []
            parts: list[ast.Condition] = []
            for level in (*REVEAL_ORDER, None):
                if level not in by_level:
                    continue
                # Never FALSE: each part survived folding and ``allowed`` is not FALSE (deny != TRUE).
                condition = and_([or_(by_level[level]), allowed])
                parts.append(condition)
                if level is not None:
                    grants.append(LevelGrant(level, condition))
                if condition == TRUE:
                    # Every row gets this level: the less revealing ones are never reached.
                    break
            column_condition = or_(parts)
            deciding.update(refs)
            if column_condition == FALSE:
                every_column = False
                if self.explicit:
                    denied.append(plan.name)
                continue
            column_conditions.append(column_condition)
            granted[plan.name] = ColumnDecision(plan.name, column_condition, tuple(grants), tuple(refs))
        if self.action in _ALL_COLUMNS_ACTIONS:
            row_filter = and_(column_conditions) if every_column and column_conditions else FALSE
        else:
            row_filter = or_(column_conditions)
        return Decision(
            action=self.action,
            table=self.table,
            columns=granted,
            row_filter=row_filter,
            denied_columns=tuple(denied),
            unknown_columns=self.unknown,
            statements=tuple(deciding),
        )


class CompiledPolicySet:
    """The compiled policies bound to one principal in one vault, indexed for ``decide``.

    Build it once per policy-set version (policies, roles, bindings and the vault schema) and keep it
    while that version is current; it memoizes answers and is safe to share between threads (the
    memo is a plain dict: a race costs a recomputation, never a wrong answer).
    """

    def __init__(
        self,
        schema: SchemaInfo,
        index: dict[tuple[str, str], dict[str, _ColumnRules]],
        warnings: list[str],
    ) -> None:
        self.schema = schema
        self._index = index
        self.warnings = warnings
        self._memo: dict[tuple[Any, ...], Decision | _Plan] = {}

    @classmethod
    def build(
        cls,
        policies: Iterable[tuple[str, CompiledPolicy | Mapping[str, Any]]],
        schema: SchemaInfo,
    ) -> CompiledPolicySet:
        """Index ``(policy_id, compiled)`` pairs (compiled objects or their stored JSON) over ``schema``.

        A statement naming a table or column the schema no longer has (the schema changed after the
        policy was saved) grants nothing there; a DENY whose condition tests a vanished column
        denies unconditionally, failing closed. Each such case is listed in ``warnings``.
        """
        warnings: list[str] = []
        cells: dict[tuple[str, str], dict[str, tuple[list[_Rule], list[_Rule]]]] = {}
        for policy_id, compiled in policies:
            policy = compiled if isinstance(compiled, CompiledPolicy) else load_compiled(compiled)
            for statement in policy.statements:
                ref = StatementRef(str(policy_id), statement.index, statement.line, statement.effect)
                condition = statement.condition
                dynamic = False
                if condition is not None:
                    attributes, paths, _ = references(condition)
                    dynamic = bool(attributes or paths)
                    missing = _missing_columns(condition, schema)
                    if missing:
                        where = f"policy {policy_id}, line {statement.line}"
                        if statement.effect == "ALLOW":
                            warnings.append(
                                f"{where}: WHERE tests {missing}, which the schema lacks; it grants nothing."
                            )
                            continue
                        warnings.append(
                            f"{where}: WHERE tests {missing}, which the schema lacks; it denies everywhere."
                        )
                        condition, dynamic = None, False
                rule = _Rule(statement.redaction, condition, ref, dynamic)
                for table, column in _targets(statement.resources, schema, warnings, policy_id, statement.line):
                    allows, denies = cells.setdefault((statement.action, table), {}).setdefault(column, ([], []))
                    (allows if statement.effect == "ALLOW" else denies).append(rule)
        index = {
            key: {column: _ColumnRules(tuple(a), tuple(d)) for column, (a, d) in columns.items()}
            for key, columns in cells.items()
        }
        return cls(schema, index, warnings)

    def decide(
        self,
        principal: Principal,
        action: str,
        table: str,
        columns: Sequence[str] | None = None,
        redaction: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Decision:
        """See ``policies.engine.decide``."""
        key = (action, table, None if columns is None else tuple(columns), redaction)
        entry = self._memo.get(key)
        if entry is None:
            entry = self._plan(action, table, key[2], redaction)
            if len(self._memo) >= MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = entry
        if isinstance(entry, Decision):
            return entry
        return entry.decide(principal, context)

    def _plan(
        self, action: str, table: str, columns: tuple[str, ...] | None, redaction: str | None
    ) -> Decision | _Plan:
        if action not in ACTIONS:
            raise ValueError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
        if redaction is not None and redaction not in LEVELS:
            raise ValueError(f"Unknown redaction level {redaction!r}: use one of {', '.join(sorted(LEVELS))}.")
        info = self.schema.tables.get(table)
        known = {} if info is None else info.columns
        names: list[str] = []
        unknown: list[str] = []
        for name in known if columns is None else columns:
            if name not in known:
                unknown.append(name)
            elif name not in names:
                names.append(name)
        cells = self._index.get((action, table), {})
        attributes: set[str] = set()
        paths: set[tuple[str, ...]] = set()
        plans = []
        for name in names:
            rules = cells.get(name, _NO_RULES)
            cap = known[name].default_redaction if redaction in (None, "DEFAULT") else redaction
            allows = []
            for rule in rules.allows:
                level = None
                if action in LEVEL_ACTIONS:
                    granted = known[name].default_redaction if rule.level in (None, "DEFAULT") else rule.level
                    level = REVEAL_ORDER[max(_RANK[str(granted)], _RANK[str(cap)])]
                allows.append((level, rule.condition, rule.ref))
            for rule in rules.allows + rules.denies:
                if rule.dynamic and rule.condition is not None:
                    more_attributes, more_paths, _ = references(rule.condition)
                    attributes |= more_attributes
                    paths |= more_paths
            denies = tuple((rule.condition, rule.ref) for rule in rules.denies)
            plans.append(_ColumnPlan(name, tuple(allows), denies))
        plan = _Plan(
            action,
            table,
            tuple(plans),
            columns is not None,
            tuple(unknown),
            tuple(sorted(attributes)),
            tuple(sorted(paths)),
        )
        if plan.attributes or plan.paths:
            return plan
        # Nothing here depends on who asks or on the request's context: one answer for all.
        return plan.compute(None, None)


def _missing_columns(condition: ast.Condition, schema: SchemaInfo) -> str:
    missing: list[str] = []
    stack: list[Any] = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.And | ast.Or):
            stack.extend(node.args)
        elif isinstance(node, ast.Not):
            stack.append(node.arg)
        elif isinstance(node, ast.Compare):
            stack.extend((node.left, node.right))
        elif isinstance(node, ast.In | ast.IsNull | ast.Like):
            stack.append(node.operand)
        elif isinstance(node, ast.ColumnRef):
            table = schema.tables.get(node.table)
            if table is None or node.column not in table.columns:
                missing.append(f"{node.table}.{node.column}")
    return ", ".join(sorted(set(missing)))


def _targets(
    resources: tuple[Any, ...] | None, schema: SchemaInfo, warnings: list[str], policy_id: str, line: int
) -> list[tuple[str, str]]:
    """The (table, column) cells a statement covers; no ON covers every column of the vault."""
    if resources is None:
        return [(table, column) for table, info in schema.tables.items() for column in info.columns]
    out: dict[tuple[str, str], None] = {}
    for pattern in resources:
        info = schema.tables.get(pattern.table)
        matched = [] if info is None else [column for column in info.columns if pattern.matches(column)]
        if not matched:
            warnings.append(f"policy {policy_id}, line {line}: {pattern.table}.{pattern.column} is not in the schema.")
        for column in matched:
            out[(pattern.table, column)] = None
    return list(out)


def decide(
    policy_set: CompiledPolicySet,
    principal: Principal,
    action: str,
    table: str,
    columns: Sequence[str] | None = None,
    redaction: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> Decision:
    """What ``principal`` may do with ``action`` on ``table``'s ``columns`` (None = all of them).

    Default deny; a matching DENY beats every ALLOW for the same column and row; each row and column
    gets the most revealing matching ALLOW's level, capped by ``redaction`` (None or DEFAULT: the
    column's default level). ``principal.*`` and ``request.context.*`` (from ``context``, the token's
    ``ctx``) are resolved here; what remains refers only to columns: the row conditions.
    """
    return policy_set.decide(principal, action, table, columns, redaction, context)
