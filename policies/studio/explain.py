"""A decision's conditions written back in the policy language, for people reading the simulator."""

from __future__ import annotations

from policies.language import ast


def _literal(value: ast.Value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def operand_text(operand: ast.Operand) -> str:
    if isinstance(operand, ast.ColumnRef):
        return f"{operand.table}.{operand.column}"
    if isinstance(operand, ast.PrincipalRef):
        return f"principal.{operand.attribute}"
    if isinstance(operand, ast.ContextRef):
        return "request.context." + ".".join(operand.path)
    return _literal(operand.value)


def condition_text(condition: ast.Condition) -> str:
    """``persons.region = 'EU' AND NOT (persons.vip = TRUE)``; TRUE / FALSE for folded constants."""
    if isinstance(condition, ast.Constant):
        return "TRUE" if condition.value else "FALSE"
    if isinstance(condition, ast.And | ast.Or):
        word = " AND " if isinstance(condition, ast.And) else " OR "
        return word.join(_grouped(arg) for arg in condition.args)
    if isinstance(condition, ast.Not):
        return f"NOT {_grouped(condition.arg)}"
    if isinstance(condition, ast.Compare):
        return f"{operand_text(condition.left)} {condition.op} {operand_text(condition.right)}"
    if isinstance(condition, ast.In):
        values = ", ".join(_literal(v.value) for v in condition.values)
        return f"{operand_text(condition.operand)} {'NOT IN' if condition.negated else 'IN'} ({values})"
    if isinstance(condition, ast.IsNull):
        return f"{operand_text(condition.operand)} IS {'NOT NULL' if condition.negated else 'NULL'}"
    pattern = _literal(condition.pattern)
    return f"{operand_text(condition.operand)} {'NOT LIKE' if condition.negated else 'LIKE'} {pattern}"


def _grouped(condition: ast.Condition) -> str:
    text = condition_text(condition)
    return f"({text})" if isinstance(condition, ast.And | ast.Or) else text
