"""The policy language's syntax tree: frozen dataclasses, shared by the compiler and the engine.

Condition nodes carry their source position in ``pos``, which takes no part in equality or hashing:
the engine builds and compares the same node types without positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

Value: TypeAlias = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line and column in the policy source."""

    line: int
    column: int


_NOWHERE = Position(0, 0)


def _pos() -> Position:
    return field(default=_NOWHERE, compare=False, repr=False)


# --- operands ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """``table.column`` (a nested Skyflow column keeps its dots: ``persons.name.last_name``)."""

    table: str
    column: str
    pos: Position = _pos()


@dataclass(frozen=True, slots=True)
class PrincipalRef:
    """``principal.id|email|type|name``."""

    attribute: str
    pos: Position = _pos()


@dataclass(frozen=True, slots=True)
class ContextRef:
    """``request.context.<key>[.<key>…]``: a (nested) key of the token's ``ctx`` claim."""

    path: tuple[str, ...]
    pos: Position = _pos()


@dataclass(frozen=True, slots=True)
class Literal:
    """A text, number, TRUE/FALSE or NULL literal."""

    value: Value
    pos: Position = _pos()


Operand: TypeAlias = ColumnRef | PrincipalRef | ContextRef | Literal

# --- conditions -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right`` with ``op`` one of ``= != < <= > >=`` (``<>`` is read as ``!=``)."""

    op: str
    left: Operand
    right: Operand
    pos: Position = _pos()


@dataclass(frozen=True, slots=True)
class In:
    """``operand [NOT] IN (literal, …)``."""

    operand: Operand
    values: tuple[Literal, ...]
    negated: bool = False
    pos: Position = _pos()


@dataclass(frozen=True, slots=True)
class IsNull:
    """``operand IS [NOT] NULL``."""

    operand: Operand
    negated: bool = False
    pos: Position = _pos()


@dataclass(frozen=True, slots=True)
class Like:
    """``operand [NOT] LIKE 'pattern'`` (``%`` any run, ``_`` one character, ``\\`` escapes)."""

    operand: Operand
    pattern: str
    negated: bool = False
    pos: Position = _pos()


@dataclass(frozen=True, slots=True)
class And:
    args: tuple[Condition, ...]
    pos: Position = _pos()


@dataclass(frozen=True, slots=True)
class Or:
    args: tuple[Condition, ...]
    pos: Position = _pos()


@dataclass(frozen=True, slots=True)
class Not:
    arg: Condition
    pos: Position = _pos()


@dataclass(frozen=True, slots=True)
class Constant:
    """TRUE or FALSE: never written in a policy, produced when the engine folds a condition."""

    value: bool
    pos: Position = _pos()


Condition: TypeAlias = Compare | In | IsNull | Like | And | Or | Not | Constant
TRUE = Constant(True)
FALSE = Constant(False)

# --- statements -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resource:
    """``table.column``, ``table.*`` or a nested ``table.group.*``, as written."""

    parts: tuple[str, ...]
    wildcard: bool
    pos: Position = _pos()


@dataclass(frozen=True, slots=True)
class Statement:
    """One line: ``effect action [ON resources] [WITH REDACTION = level] [WHERE condition]``, as written."""

    effect: str
    action: str
    resources: tuple[Resource, ...] | None
    redaction: str | None
    condition: Condition | None
    line: int
    column: int
    action_pos: Position = _pos()
    redaction_pos: Position = _pos()
    # The operator written after WITH REDACTION (only ``=`` is valid) and the WHERE keyword's position.
    redaction_op: str = "="
    where_pos: Position = _pos()
    # Nodes in the condition (connectives, predicates and operands), counted while parsing so that
    # an oversized condition is refused before anything walks it recursively.
    condition_size: int = 0
