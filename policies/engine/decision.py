"""What the engine answers: a ``Decision`` per question, and the principal it answers about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.engine.conditions import row_matches
from policies.language import ast
from policies.language.ast import FALSE
from policies.language.compiled import condition_to_json

USER = "USER"
SERVICE_ACCOUNT = "SERVICE_ACCOUNT"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who asks: the attributes a policy can test as ``principal.*``."""

    id: str
    type: str = SERVICE_ACCOUNT
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class StatementRef:
    """One statement of one policy, for audit and for "why?"."""

    policy_id: str
    index: int
    line: int
    effect: str

    def as_dict(self) -> dict[str, Any]:
        return {"policy_id": self.policy_id, "index": self.index, "line": self.line, "effect": self.effect}


@dataclass(frozen=True, slots=True)
class LevelGrant:
    """A redaction level and the rows it holds for (TRUE = every row)."""

    level: str
    condition: ast.Condition


@dataclass(frozen=True, slots=True)
class ColumnDecision:
    """One granted column.

    ``condition``: the rows where the column is granted at all (TRUE = every row; DENYs are already
    folded in as NOT). ``levels`` (READ and DETOKENIZATION only; empty for other actions): most
    revealing first; a row gets the first level whose condition it matches — exactly a SQL
    ``CASE WHEN … THEN 'PLAIN_TEXT' WHEN … THEN 'MASKED' … END``. ``statements``: what decided.
    """

    column: str
    condition: ast.Condition
    levels: tuple[LevelGrant, ...]
    statements: tuple[StatementRef, ...]

    def level_for(self, row: Mapping[str, Any]) -> str | None:
        """The level this row gets for this column, or None when the column is left out of the row."""
        for grant in self.levels:
            if row_matches(grant.condition, row):
                return grant.level
        return None


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's answer to one question (principal, action, table, columns, level, context).

    ``columns``: the granted columns, in schema (or request) order; a column no ALLOW reaches is not
    there. ``row_filter``: for READ, DETOKENIZATION and TOKENIZATION the rows with at least one
    granted column (a row without any is not returned); for CREATE, UPDATE and DELETE the rows on
    which every asked column (DELETE: every column) is granted — FALSE means refuse.
    ``denied_columns``: columns asked for by name that this principal can never get here (the API
    answers 403 naming them); ``unknown_columns``: names the table does not have.
    ``statements``: every statement that took part, for audit and "why?".
    """

    action: str
    table: str
    columns: Mapping[str, ColumnDecision]
    row_filter: ast.Condition
    denied_columns: tuple[str, ...]
    unknown_columns: tuple[str, ...]
    statements: tuple[StatementRef, ...]

    @property
    def allowed(self) -> bool:
        """False when no row can pass: nothing to return, or the write must be refused."""
        return self.row_filter != FALSE

    def row_allowed(self, row: Mapping[str, Any]) -> bool:
        return row_matches(self.row_filter, row)

    def visible(self, row: Mapping[str, Any]) -> dict[str, str]:
        """Column → level for one row (READ/DETOKENIZATION); columns left out of the row are absent."""
        out: dict[str, str] = {}
        for name, column in self.columns.items():
            level = column.level_for(row)
            if level is not None:
                out[name] = level
        return out

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the simulator and audit details."""
        return {
            "action": self.action,
            "table": self.table,
            "allowed": self.allowed,
            "columns": {
                name: {
                    "condition": condition_to_json(column.condition),
                    "levels": [
                        {"level": grant.level, "condition": condition_to_json(grant.condition)}
                        for grant in column.levels
                    ],
                    "statements": [ref.as_dict() for ref in column.statements],
                }
                for name, column in self.columns.items()
            },
            "row_filter": condition_to_json(self.row_filter),
            "denied_columns": list(self.denied_columns),
            "unknown_columns": list(self.unknown_columns),
            "statements": [ref.as_dict() for ref in self.statements],
        }
