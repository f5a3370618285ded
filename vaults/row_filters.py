"""Row conditions of a Decision as parameterized ORM filters over ``Record`` (DESIGN.md §5, §16).

The engine has already folded ``principal.*`` and ``request.context.*`` away, so a condition holds
only column references and literals. Plain columns are JSON keys of ``Record.data``; encrypted
columns are reached through their blind index (``=``, ``!=``, ``IN``, ``NOT IN``, ``IS [NOT] NULL``
— the compiler allows nothing else on them). Literal values travel as query parameters: no policy
text ever becomes SQL text.

NULL follows the engine's two-valued logic: a comparison with a missing or null value is false,
and NOT simply negates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import BooleanField, Case, Exists, OuterRef, Q, Value, When

from policies.language import ast

from .crypto.blind_index import IndexKey, blind_index
from .crypto.errors import BlindIndexValueError
from .models import BlindIndex, Column

_ALL = Q(pk__isnull=False)
_NONE = Q(pk__isnull=True)
_LOOKUPS = {"=": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def _two_valued(q: Q) -> Q:
    """``q`` as a plain TRUE/FALSE: SQL gives NULL for a comparison with a missing JSON key, and
    NOT NULL is NULL, where the engine's NOT of a false comparison is true."""
    return Q(Case(When(q, then=Value(True)), default=Value(False), output_field=BooleanField()))


class RowFilter:
    """Turns conditions on one table into Q objects; built once per request."""

    def __init__(self, *, table: str, columns: Mapping[str, Column], index_key: IndexKey | None) -> None:
        self.table = table
        self.columns = columns
        self.index_key = index_key

    def q(self, condition: ast.Condition) -> Q:
        if isinstance(condition, ast.Constant):
            return _ALL if condition.value else _NONE
        if isinstance(condition, ast.And):
            out = _ALL
            for arg in condition.args:
                out &= self.q(arg)
            return out
        if isinstance(condition, ast.Or):
            out = _NONE
            for arg in condition.args:
                out |= self.q(arg)
            return out
        if isinstance(condition, ast.Not):
            return ~self.q(condition.arg)
        if isinstance(condition, ast.Compare):
            return self._compare(condition)
        if isinstance(condition, ast.In):
            column, _ = self._column(condition.operand)
            values = [literal.value for literal in condition.values if literal.value is not None]
            matched = self._equals_any(column, values)
            return self._has_value(column) & ~matched if condition.negated else matched
        if isinstance(condition, ast.IsNull):
            column, _ = self._column(condition.operand)
            present = self._has_value(column)
            return present if condition.negated else ~present
        if isinstance(condition, ast.Like):
            column, key = self._column(condition.operand)
            from policies.engine import like_regex

            if column.encrypted:
                raise ValueError(f"{column.name} is encrypted: LIKE cannot work on it.")
            # The engine full-matches; a database regex searches, hence the anchors.
            matched = _two_valued(Q(**{f"{key}__regex": f"^(?:{like_regex(condition.pattern).pattern})$"}))
            return self._has_value(column) & ~matched if condition.negated else matched
        raise TypeError(f"Unknown condition {type(condition).__name__}.")

    # --- pieces -------------------------------------------------------------------------------------
    def _column(self, operand: ast.Operand) -> tuple[Column, str]:
        if not isinstance(operand, ast.ColumnRef) or operand.table != self.table:
            raise ValueError(f"A row condition on {self.table} refers to {operand!r}.")
        column = self.columns.get(operand.column)
        if column is None:
            raise ValueError(f"Column {operand.column} is not in table {self.table}.")
        return column, f"data__{column.name}"

    def _digest(self, column: Column, value: Any) -> str | None:
        assert self.index_key is not None, "encrypted columns need the vault's index key"
        try:
            return blind_index(
                self.index_key, table=self.table, column=column.name, data_type=column.data_type, value=value
            )
        except BlindIndexValueError:
            return None  # a value this column can never hold matches no row

    def _indexed(self, column: Column, **filters: Any) -> Exists:
        return Exists(BlindIndex.objects.filter(record=OuterRef("pk"), column_id=column.pk, **filters))

    def _has_value(self, column: Column) -> Q:
        if column.encrypted:
            return Q(self._indexed(column))
        key = f"data__{column.name}"
        return _two_valued(Q(**{f"{key}__isnull": False}) & ~Q(**{key: None}))

    def _equals_any(self, column: Column, values: list[Any]) -> Q:
        if not values:
            return _NONE
        if column.encrypted:
            digests = [d for d in (self._digest(column, v) for v in values) if d is not None]
            return Q(self._indexed(column, digest__in=digests)) if digests else _NONE
        key = f"data__{column.name}"
        out = _NONE
        for value in values:
            out |= Q(**{key: value})
        return _two_valued(out)

    def _compare(self, condition: ast.Compare) -> Q:
        left, right, op = condition.left, condition.right, condition.op
        if isinstance(left, ast.Literal) and isinstance(right, ast.ColumnRef):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if not isinstance(right, ast.Literal):
            raise ValueError("A row condition compares a column with a literal.")
        column, key = self._column(left)
        if right.value is None:
            return _NONE  # any comparison with NULL is false
        if op == "!=":
            return self._has_value(column) & ~self._equals_any(column, [right.value])
        if op == "=":
            return self._equals_any(column, [right.value])
        if column.encrypted:
            raise ValueError(f"{column.name} is encrypted: only equality works on it.")
        return _two_valued(Q(**{f"{key}__{_LOOKUPS[op]}": right.value}))
