"""The query endpoint's SQL (SKYFLOW_WIRE.md §4), parsed by a real SQL parser into a small, pure spec.

Accepted, and nothing else::

    SELECT * | col [, col …] FROM table
      [WHERE col = literal [AND col = literal …]]
      [LIMIT n] [OFFSET n]

The text never reaches the database: the spec names a table, columns and equality filters, which
the record selector turns into parameterized lookups (blind-index digests for encrypted columns)
after the policy engine has had its say. Anything outside the subset is a 400 that names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

MAX_QUERY_LENGTH = 8192
MAX_LIMIT = 25
MAX_FILTERS = 20


class UnsupportedQuery(ValueError):
    """The query is not SQL, or uses something outside the supported subset; the message says what."""


@dataclass(frozen=True)
class QuerySpec:
    table: str
    columns: tuple[str, ...] | None  # None: SELECT *
    filters: tuple[tuple[str, Any], ...]  # (column, value) pairs, all ANDed equalities
    limit: int
    offset: int


def _name(node: exp.Expression, what: str) -> str:
    if isinstance(node, exp.Column) and not node.table and isinstance(node.this, exp.Identifier):
        return str(node.this.this)
    if isinstance(node, exp.Column) and node.table:
        return str(node.this.this) if isinstance(node.this, exp.Identifier) else node.sql()
    raise UnsupportedQuery(f"{what} must be a plain column name, not {node.sql()!r}.")


def _literal(node: exp.Expression) -> Any:
    if isinstance(node, exp.Literal):
        if node.is_string:
            return str(node.this)
        text = str(node.this)
        try:
            return int(text)
        except ValueError:
            return float(text)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        value = _literal(node.this)
        return -value
    raise UnsupportedQuery(f"Only literal values can be compared in WHERE, not {node.sql()!r}.")


def _int(node: exp.Expression | None, what: str) -> int | None:
    if node is None:
        return None
    value_node = node.expression if isinstance(node, exp.Limit | exp.Offset) else node
    if not isinstance(value_node, exp.Literal) or value_node.is_string:
        raise UnsupportedQuery(f"{what} must be a whole number.")
    try:
        value = int(str(value_node.this))
    except ValueError as exc:
        raise UnsupportedQuery(f"{what} must be a whole number.") from exc
    if value < 0:
        raise UnsupportedQuery(f"{what} cannot be negative.")
    return value


def _filters(node: exp.Expression) -> list[tuple[str, Any]]:
    if isinstance(node, exp.Paren):
        return _filters(node.this)
    if isinstance(node, exp.And):
        return _filters(node.this) + _filters(node.expression)
    if isinstance(node, exp.EQ):
        left, right = node.this, node.expression
        if isinstance(left, exp.Column):
            return [(_name(left, "The left side of ="), _literal(right))]
        if isinstance(right, exp.Column):
            return [(_name(right, "The right side of ="), _literal(left))]
        raise UnsupportedQuery(f"WHERE compares a column with a value; {node.sql()!r} does not.")
    kind = type(node).__name__.upper()
    raise UnsupportedQuery(
        f"WHERE supports only column = value joined by AND; {kind} ({node.sql()!r}) is not supported."
    )


def parse_query(text: Any) -> QuerySpec:
    """Parse one read-only query; raise UnsupportedQuery naming whatever is outside the subset."""
    if not isinstance(text, str) or not text.strip():
        raise UnsupportedQuery("query must be a non-empty SQL string, e.g. SELECT * FROM persons.")
    if len(text) > MAX_QUERY_LENGTH:
        raise UnsupportedQuery(f"query is longer than {MAX_QUERY_LENGTH} characters.")
    try:
        statements = [s for s in sqlglot.parse(text, read="postgres") if s is not None]
    except (ParseError, TokenError) as exc:
        raise UnsupportedQuery(f"query is not valid SQL: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1:
        raise UnsupportedQuery("Send exactly one statement.")
    tree = statements[0]
    if not isinstance(tree, exp.Select):
        raise UnsupportedQuery(f"Only SELECT is supported, not {type(tree).__name__.upper()}.")
    for key, what in (
        ("joins", "JOIN"),
        ("group", "GROUP BY"),
        ("having", "HAVING"),
        ("order", "ORDER BY"),
        ("with_", "WITH"),
        ("distinct", "DISTINCT"),
        ("qualify", "QUALIFY"),
        ("windows", "WINDOW"),
        ("locks", "FOR UPDATE"),
        ("into", "INTO"),
    ):
        if tree.args.get(key):
            raise UnsupportedQuery(f"{what} is not supported.")
    source = tree.args.get("from_") or tree.args.get("from")
    if source is None:
        raise UnsupportedQuery("FROM <table> is required.")
    table = source.this
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier) or table.args.get("db"):
        raise UnsupportedQuery(f"FROM must name one table of this vault, not {table.sql()!r}.")
    if table.alias:
        raise UnsupportedQuery("Table aliases are not supported.")
    columns: list[str] | None = []
    for projection in tree.expressions:
        if isinstance(projection, exp.Star):
            columns = None
            break
        if isinstance(projection, exp.Alias):
            raise UnsupportedQuery("Column aliases (AS) are not supported.")
        if not isinstance(projection, exp.Column):
            raise UnsupportedQuery(f"SELECT lists column names or *; {projection.sql()!r} is not supported.")
        assert columns is not None
        columns.append(_name(projection, "A selected column"))
    if columns is not None and len(tree.expressions) > 1 and any(isinstance(p, exp.Star) for p in tree.expressions):
        raise UnsupportedQuery("Use either * or a list of columns.")
    where = tree.args.get("where")
    filters = _filters(where.this) if where is not None else []
    if len(filters) > MAX_FILTERS:
        raise UnsupportedQuery(f"At most {MAX_FILTERS} conditions in WHERE.")
    limit = _int(tree.args.get("limit"), "LIMIT")
    offset = _int(tree.args.get("offset"), "OFFSET")
    if limit is not None and limit > MAX_LIMIT:
        raise UnsupportedQuery(f"LIMIT is at most {MAX_LIMIT}.")
    return QuerySpec(
        table=str(table.this.this),
        columns=tuple(columns) if columns is not None else None,
        filters=tuple(filters),
        limit=MAX_LIMIT if limit is None else limit,
        offset=offset or 0,
    )
