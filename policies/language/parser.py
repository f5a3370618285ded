"""The policy grammar (lark, LALR) and the step from a parse tree to the syntax tree of ``ast``.

Statements are one per line, so each line is parsed on its own: a syntax error on one line does not
hide the errors on the others, and every error gets its real line number. LALR with lark's contextual
lexer lets keywords double as column names where only a name can follow (``persons.where``).

Parse trees are turned into the syntax tree bottom-up without recursion, and the size of each
condition is counted on the way, so that no hostile input (``NOT NOT NOT …``) can exhaust the stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from policies.language import ast
from policies.language.errors import PolicyError
from policies.language.limits import MAX_IDENTIFIER_LENGTH, MAX_LITERAL_LENGTH

GRAMMAR = r"""
start: IDENT IDENT on_clause? tail?
on_clause: ON resource ("," resource)*
resource: IDENT ("." IDENT)* "." (IDENT | STAR)
tail: with_clause where_clause? | where_clause with_clause?
with_clause: WITH REDACTION CMP IDENT
where_clause: WHERE or_cond

?or_cond: and_cond | or_cond OR and_cond -> or_
?and_cond: not_cond | and_cond AND not_cond -> and_
?not_cond: NOT not_cond -> not_ | atom
?atom: "(" or_cond ")" | predicate
?predicate: operand CMP operand -> compare
    | operand NOT? IN "(" literal ("," literal)* ")" -> in_
    | operand IS NOT? NULL -> is_null
    | operand NOT? LIKE STRING -> like
?operand: path | literal
path: IDENT ("." IDENT)+
literal: STRING | NUMBER | TRUE | FALSE | NULL

ON: "on"i
WITH: "with"i
REDACTION: "redaction"i
WHERE: "where"i
OR: "or"i
AND: "and"i
NOT: "not"i
IN: "in"i
IS: "is"i
NULL: "null"i
LIKE: "like"i
TRUE: "true"i
FALSE: "false"i
STAR: "*"
CMP: "<=" | ">=" | "<>" | "!=" | "=" | "<" | ">"
IDENT: /[A-Za-z_][A-Za-z0-9_]*/
// SQL-style quotes with '' (or "") and backslash escapes; typographic quotes as pasted from docs.
STRING: /'(?:[^'\\\n]|\\[^\n]|'')*'/ | /"(?:[^"\\\n]|\\[^\n]|"")*"/
      | /\u2018[^\u2019\n]*\u2019/ | /\u201c[^\u201d\n]*\u201d/
NUMBER: /[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/
COMMENT: /(?:#|--)[^\n]*/
%ignore COMMENT
%ignore /[ \t\f\r\v\u00a0]+/
"""

_PARSER = Lark(GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=False)

# How the parser's terminal names read in a message.
_TERMINAL_NAMES = {
    "IDENT": "a name",
    "STRING": "a quoted text",
    "NUMBER": "a number",
    "CMP": "a comparison (=, !=, <>, <, <=, >, >=)",
    "STAR": "*",
    "COMMA": "','",
    "DOT": "'.'",
    "LPAR": "'('",
    "RPAR": "')'",
    "$END": "the end of the line",
}
_CLOSING = {"'": "'", '"': '"', "\u2018": "\u2019", "\u201c": "\u201d"}
_MIRROR = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_Node = TypeVar("_Node")
PRINCIPAL_ATTRIBUTES = ("id", "email", "type", "name")


@dataclass
class ParsedLine:
    """A parsed statement (or None when the line has a syntax error) and the errors found."""

    statement: ast.Statement | None
    errors: list[PolicyError] = field(default_factory=list)


def is_blank(line: str) -> bool:
    """True for lines that hold no statement: empty, whitespace or a comment."""
    stripped = line.strip(" \t\f\r\v\u00a0")
    return not stripped or stripped.startswith(("#", "--"))


def parse_line(text: str, line: int) -> ParsedLine:
    """Parse one statement written on ``line``; never raises for any input text."""
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        return ParsedLine(None, [_syntax_error(exc, text, line)])
    except LarkError as exc:  # pragma: no cover - lark raises UnexpectedInput subclasses for bad input
        return ParsedLine(None, [PolicyError(line, 1, f"This line could not be read: {exc}")])
    builder = _Builder(line)
    statement = builder.build(tree)
    return ParsedLine(statement if not builder.errors else None, builder.errors)


def _describe(names: set[str]) -> str:
    readable = sorted({_TERMINAL_NAMES.get(name, name) for name in names})
    if len(readable) == 1:
        return readable[0]
    return ", ".join(readable[:-1]) + " or " + readable[-1]


def _syntax_error(exc: UnexpectedInput, text: str, line: int) -> PolicyError:
    if isinstance(exc, UnexpectedCharacters):
        where = exc.pos_in_stream or 0
        char = text[where] if where < len(text) else ""
        if char in _CLOSING:
            return PolicyError(
                line, exc.column, f"This text starting with {char} is never closed: end it with {_CLOSING[char]}."
            )
        return PolicyError(line, exc.column, f"Unexpected character {char!r} here.")
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    expected = _describe(set(exc.expected))
    if token.type == "$END":
        column = len(text.rstrip()) + 1
        return PolicyError(line, column, f"The statement ends too early: expected {expected}.")
    return PolicyError(line, token.column or 1, f"Unexpected {str(token)!r} here: expected {expected}.")


def _unquote(raw: str) -> str:
    quote = raw[0]
    body = raw[1:-1]
    if quote not in ("'", '"'):
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            following = body[i + 1]
            # Only quotes and the backslash are escapes; anything else keeps its backslash, so a
            # LIKE pattern's \% and \_ reach the pattern intact.
            out.append(following if following in ("'", '"', "\\") else char + following)
            i += 2
        elif char == quote:
            # The regex only lets a quote through doubled: '' stands for one '.
            out.append(quote)
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


class _Builder:
    """Turns one line's parse tree into an ``ast.Statement``, bottom-up and without recursion."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.errors: list[PolicyError] = []
        self.sizes: dict[int, int] = {}

    def _at(self, token: Token) -> ast.Position:
        return ast.Position(self.line, token.column or 1)

    def _meta_pos(self, tree: Tree[Any]) -> ast.Position:
        return ast.Position(self.line, getattr(tree.meta, "column", 1))

    def _error(self, pos: ast.Position, message: str) -> None:
        self.errors.append(PolicyError(pos.line, pos.column, message))

    def _ident(self, token: Token) -> str:
        if len(token) > MAX_IDENTIFIER_LENGTH:
            self._error(
                self._at(token), f"This name is {len(token)} characters long; the limit is {MAX_IDENTIFIER_LENGTH}."
            )
        return str(token)

    def build(self, tree: Tree[Any]) -> ast.Statement:
        results: dict[int, Any] = {}

        def value(child: Any) -> Any:
            return results[id(child)] if isinstance(child, Tree) else child

        # iter_subtrees yields children before their parents.
        for subtree in tree.iter_subtrees():
            children = [value(child) for child in subtree.children]
            handler = getattr(self, f"_{subtree.data}")
            results[id(subtree)] = handler(subtree, children)
        return results[id(tree)]  # type: ignore[no-any-return]

    def _size(self, node: Any) -> int:
        return self.sizes.get(id(node), 1)

    def _sized(self, node: _Node, size: int) -> _Node:
        self.sizes[id(node)] = size
        return node

    # --- statements ---------------------------------------------------------------------------------

    def _start(self, tree: Tree[Any], children: list[Any]) -> ast.Statement:
        effect, action = children[0], children[1]
        resources: tuple[ast.Resource, ...] | None = None
        tail: dict[str, Any] = {}
        for child in children[2:]:
            if isinstance(child, tuple):
                resources = child
            else:
                tail = child
        self._ident(effect)
        self._ident(action)
        condition = tail.get("condition")
        return ast.Statement(
            effect=str(effect),
            action=str(action),
            resources=resources,
            redaction=tail.get("redaction"),
            condition=condition,
            line=self.line,
            column=effect.column or 1,
            action_pos=self._at(action),
            redaction_pos=tail.get("redaction_pos", ast.Position(self.line, 1)),
            redaction_op=tail.get("redaction_op", "="),
            where_pos=tail.get("where_pos", ast.Position(self.line, 1)),
            condition_size=self._size(condition) if condition is not None else 0,
        )

    def _on_clause(self, tree: Tree[Any], children: list[Any]) -> tuple[ast.Resource, ...]:
        return tuple(child for child in children if isinstance(child, ast.Resource))

    def _resource(self, tree: Tree[Any], children: list[Token]) -> ast.Resource:
        wildcard = children[-1].type == "STAR"
        parts = tuple(self._ident(token) for token in (children[:-1] if wildcard else children))
        return ast.Resource(parts=parts, wildcard=wildcard, pos=self._at(children[0]))

    def _tail(self, tree: Tree[Any], children: list[dict[str, Any]]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for part in children:
            merged.update(part)
        return merged

    def _with_clause(self, tree: Tree[Any], children: list[Token]) -> dict[str, Any]:
        level = children[3]
        return {
            "redaction": self._ident(level),
            "redaction_pos": self._at(level),
            "redaction_op": str(children[2]),
        }

    def _where_clause(self, tree: Tree[Any], children: list[Any]) -> dict[str, Any]:
        return {"condition": children[1], "where_pos": self._at(children[0])}

    # --- conditions ---------------------------------------------------------------------------------

    def _or_(self, tree: Tree[Any], children: list[Any]) -> ast.Or:
        left, right = children[0], children[2]
        # Flatten a OR b OR c into one node: the tree stays shallow and reads like the source.
        args = (left.args if isinstance(left, ast.Or) else (left,)) + (right,)
        return self._sized(ast.Or(args, pos=self._meta_pos(tree)), self._size(left) + self._size(right) + 1)

    def _and_(self, tree: Tree[Any], children: list[Any]) -> ast.And:
        left, right = children[0], children[2]
        args = (left.args if isinstance(left, ast.And) else (left,)) + (right,)
        return self._sized(ast.And(args, pos=self._meta_pos(tree)), self._size(left) + self._size(right) + 1)

    def _not_(self, tree: Tree[Any], children: list[Any]) -> ast.Not:
        return self._sized(ast.Not(children[1], pos=self._at(children[0])), self._size(children[1]) + 1)

    def _compare(self, tree: Tree[Any], children: list[Any]) -> ast.Compare:
        left, op_token, right = children
        op = "!=" if op_token == "<>" else str(op_token)
        pos = self._meta_pos(tree)
        if not isinstance(left, ast.ColumnRef) and isinstance(right, ast.ColumnRef):
            # The column goes on the left, so the compiler and engine see one shape.
            left, right, op = right, left, _MIRROR[op]
        return self._sized(ast.Compare(op, left, right, pos=pos), 3)

    def _in_(self, tree: Tree[Any], children: list[Any]) -> ast.In:
        negated = any(isinstance(c, Token) and c.type == "NOT" for c in children)
        values = tuple(c for c in children[1:] if isinstance(c, ast.Literal))
        return self._sized(ast.In(children[0], values, negated, pos=self._meta_pos(tree)), 2)

    def _is_null(self, tree: Tree[Any], children: list[Any]) -> ast.IsNull:
        negated = any(isinstance(c, Token) and c.type == "NOT" for c in children)
        return self._sized(ast.IsNull(children[0], negated, pos=self._meta_pos(tree)), 2)

    def _like(self, tree: Tree[Any], children: list[Any]) -> ast.Like:
        negated = any(isinstance(c, Token) and c.type == "NOT" for c in children)
        pattern_token: Token = children[-1]
        pattern = self._text(pattern_token)
        return self._sized(ast.Like(children[0], pattern, negated, pos=self._meta_pos(tree)), 2)

    # --- operands -----------------------------------------------------------------------------------

    def _path(self, tree: Tree[Any], children: list[Token]) -> ast.Operand:
        parts = [self._ident(token) for token in children]
        pos = self._at(children[0])
        head = parts[0].lower()
        if head == "principal":
            attribute = ".".join(parts[1:]).lower()
            if attribute not in PRINCIPAL_ATTRIBUTES:
                self._error(
                    self._at(children[1]),
                    f"principal has no attribute {'.'.join(parts[1:])!r}: use principal.id, principal.email, "
                    "principal.type or principal.name.",
                )
            return ast.PrincipalRef(attribute, pos=pos)
        if head == "request":
            if len(parts) < 3 or parts[1].lower() != "context":
                self._error(pos, "Only the request's context can be tested: write request.context.<key>.")
            return ast.ContextRef(tuple(parts[2:]), pos=pos)
        return ast.ColumnRef(parts[0], ".".join(parts[1:]), pos=pos)

    def _text(self, token: Token) -> str:
        text = _unquote(str(token))
        if len(text) > MAX_LITERAL_LENGTH:
            self._error(
                self._at(token), f"This text is {len(text)} characters long; the limit is {MAX_LITERAL_LENGTH}."
            )
        return text

    def _literal(self, tree: Tree[Any], children: list[Token]) -> ast.Literal:
        token = children[0]
        pos = self._at(token)
        kind = token.type
        if kind == "STRING":
            return ast.Literal(self._text(token), pos=pos)
        if kind == "NUMBER":
            return ast.Literal(self._number(token), pos=pos)
        if kind == "NULL":
            return ast.Literal(None, pos=pos)
        return ast.Literal(kind == "TRUE", pos=pos)

    def _number(self, token: Token) -> int | float:
        text = str(token)
        if len(text) > MAX_LITERAL_LENGTH:
            self._error(self._at(token), f"This number has {len(text)} characters; the limit is {MAX_LITERAL_LENGTH}.")
            return 0
        if any(c in text for c in ".eE"):
            number = float(text)
            if not math.isfinite(number):
                self._error(self._at(token), f"The number {text} is too large.")
                return 0
            return number
        return int(text)
