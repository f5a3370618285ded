"""Row conditions at decision time: folding principal and context values in, and testing single rows.

Two-valued logic throughout, as DESIGN.md §5 says: a missing value is NULL, any comparison with NULL
is false, and NOT simply negates (so ``NOT (c = 'x')`` holds where c is NULL). This is also what
Django's ``~Q(c='x')`` means on a nullable column, so the database and Python agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from policies.language import ast
from policies.language.ast import FALSE, TRUE

_MISSING: Any = None


def and_(args: list[ast.Condition] | tuple[ast.Condition, ...]) -> ast.Condition:
    """AND of ``args``, flattened, with TRUE dropped, FALSE absorbing and duplicates removed."""
    out: list[ast.Condition] = []
    for arg in args:
        if isinstance(arg, ast.Constant):
            if not arg.value:
                return FALSE
            continue
        for part in arg.args if isinstance(arg, ast.And) else (arg,):
            if part not in out:
                out.append(part)
    if not out:
        return TRUE
    return out[0] if len(out) == 1 else ast.And(tuple(out))


def or_(args: list[ast.Condition] | tuple[ast.Condition, ...]) -> ast.Condition:
    """OR of ``args``, flattened, with FALSE dropped, TRUE absorbing and duplicates removed."""
    out: list[ast.Condition] = []
    for arg in args:
        if isinstance(arg, ast.Constant):
            if arg.value:
                return TRUE
            continue
        for part in arg.args if isinstance(arg, ast.Or) else (arg,):
            if part not in out:
                out.append(part)
    if not out:
        return FALSE
    # Absorption: (a AND b) OR a is a; row conditions built per level repeat their DENY parts.
    out = [
        part
        for part in out
        if not (isinstance(part, ast.And) and any(other is not part and other in part.args for other in out))
    ]
    return out[0] if len(out) == 1 else ast.Or(tuple(out))


def not_(arg: ast.Condition) -> ast.Condition:
    if isinstance(arg, ast.Constant):
        return FALSE if arg.value else TRUE
    if isinstance(arg, ast.Not):
        return arg.arg
    return ast.Not(arg)


# --- values -----------------------------------------------------------------------------------------


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _comparable(value: object) -> object:
    # Dates read from a row compare with the ISO text the policy wrote.
    if isinstance(value, date):
        return value.isoformat()
    return value


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "text" if isinstance(value, str) else "other"


def compare(op: str, left: object, right: object) -> bool:
    """``left op right`` under the policy language's rules: NULL or a non-scalar never compares true."""
    left, right = _comparable(left), _comparable(right)
    if left is None or right is None or not _scalar(left) or not _scalar(right):
        return False
    if _kind(left) != _kind(right):
        # Different kinds are never equal, and have no order.
        return op == "!="
    a: Any = left
    b: Any = right
    if op == "=":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


@lru_cache(maxsize=512)
def like_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression for a LIKE pattern: ``%`` any run, ``_`` one character, ``\\`` escapes."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def like(value: object, pattern: str) -> bool:
    return isinstance(value, str) and like_regex(pattern).fullmatch(value) is not None


def in_values(value: object, values: tuple[ast.Literal, ...]) -> bool:
    return any(compare("=", value, literal.value) for literal in values)


def lookup_context(context: Mapping[str, Any] | None, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in the request context, or None when any step is missing."""
    current: Any = context
    for key in path:
        if not isinstance(current, Mapping):
            return _MISSING
        current = current.get(key, _MISSING)
    return current


# --- evaluation -------------------------------------------------------------------------------------

Resolver = Callable[[ast.Operand], Any]


def evaluate(condition: ast.Condition, value_of: Resolver) -> bool:
    """Evaluate ``condition`` with ``value_of`` giving each operand's value."""
    if isinstance(condition, ast.Compare):
        return compare(condition.op, value_of(condition.left), value_of(condition.right))
    if isinstance(condition, ast.And):
        return all(evaluate(arg, value_of) for arg in condition.args)
    if isinstance(condition, ast.Or):
        return any(evaluate(arg, value_of) for arg in condition.args)
    if isinstance(condition, ast.Not):
        return not evaluate(condition.arg, value_of)
    if isinstance(condition, ast.In):
        value = value_of(condition.operand)
        if value is None:
            return False
        found = in_values(value, condition.values)
        return not found if condition.negated else found
    if isinstance(condition, ast.IsNull):
        return (value_of(condition.operand) is None) != condition.negated
    if isinstance(condition, ast.Like):
        value = value_of(condition.operand)
        if not isinstance(value, str):
            return False
        return like(value, condition.pattern) != condition.negated
    return condition.value


def row_matches(condition: ast.Condition, row: Mapping[str, Any]) -> bool:
    """Whether one row (column name → value) satisfies a Decision's row condition.

    CREATE tests the new values; UPDATE tests the row before and the row after the change. Decision
    conditions refer only to columns and literals (principal and context were folded in already).
    """

    def value_of(operand: ast.Operand) -> Any:
        if isinstance(operand, ast.ColumnRef):
            return row.get(operand.column)
        if isinstance(operand, ast.Literal):
            return operand.value
        return None

    return evaluate(condition, value_of)


# --- folding ----------------------------------------------------------------------------------------


def references(condition: ast.Condition) -> tuple[set[str], set[tuple[str, ...]], bool]:
    """(principal attributes, context paths, whether any column) that ``condition`` refers to."""
    attributes: set[str] = set()
    paths: set[tuple[str, ...]] = set()
    columns = False
    stack: list[ast.Condition] = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.And | ast.Or):
            stack.extend(node.args)
            continue
        if isinstance(node, ast.Not):
            stack.append(node.arg)
            continue
        operands: tuple[ast.Operand, ...] = ()
        if isinstance(node, ast.Compare):
            operands = (node.left, node.right)
        elif isinstance(node, ast.In | ast.IsNull | ast.Like):
            operands = (node.operand,)
        for operand in operands:
            if isinstance(operand, ast.PrincipalRef):
                attributes.add(operand.attribute)
            elif isinstance(operand, ast.ContextRef):
                paths.add(operand.path)
            elif isinstance(operand, ast.ColumnRef):
                columns = True
    return attributes, paths, columns


def fold(condition: ast.Condition, value_of: Resolver) -> ast.Condition:
    """Substitute principal and context values, and fold every part that no longer tests a column.

    What is left refers only to columns and literals: the row condition.
    """
    if isinstance(condition, ast.And):
        return and_([fold(arg, value_of) for arg in condition.args])
    if isinstance(condition, ast.Or):
        return or_([fold(arg, value_of) for arg in condition.args])
    if isinstance(condition, ast.Not):
        return not_(fold(condition.arg, value_of))
    if isinstance(condition, ast.Constant):
        return condition
    if isinstance(condition, ast.Compare):
        left = condition.left
        if isinstance(left, ast.ColumnRef):
            right = condition.right
            if isinstance(right, ast.Literal):
                return condition
            value = value_of(right)
            if value is None or not _scalar(value):
                # A comparison with NULL is false, for every row.
                return FALSE
            return ast.Compare(condition.op, left, ast.Literal(value))
    elif isinstance(condition, ast.In | ast.IsNull | ast.Like) and isinstance(condition.operand, ast.ColumnRef):
        return condition
    return TRUE if evaluate(condition, value_of) else FALSE
