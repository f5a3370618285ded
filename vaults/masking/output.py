"""Typed output on the wire: stored values → what a caller sees, per redaction level (DESIGN.md §7, §16).

Levels (the Decision's, plus ``TOKEN`` for ``tokenization=true`` reads):

* ``PLAIN_TEXT`` — records: the typed JSON value (an int stays an int, a bool a bool, a JSON column
  its object; dates and datetimes as ISO strings). Detokenize: the same value as a **string**
  (SKYFLOW_WIRE.md §3.1: ``value`` must be a JSON string), with ``valueType`` naming its type.
* ``MASKED`` — the column's ``Masker`` output, always a string; ``valueType`` ``STRING``.
* ``REDACTED`` — the literal ``"REDACTED"`` whatever the value; ``valueType`` ``STRING``. The
  value is never read, so callers need not decrypt it.
* ``TOKEN`` — the value given is already the column's token and passes through unchanged.

A null value (a column never set) stays ``null`` at ``PLAIN_TEXT``, ``MASKED`` and ``TOKEN``, and is
``"REDACTED"`` at ``REDACTED``; detokenize gives ``valueType`` ``NONE`` and ``value`` ``""``.

``make_row_renderer`` is the list-level serializer of DESIGN.md §16: one function per column plan,
one loop per row, no per-field objects.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence

from vaults.masking.spec import DATA_TYPES, Masker, compile_masking

PLAIN_TEXT = "PLAIN_TEXT"
MASKED = "MASKED"
REDACTED = "REDACTED"
TOKEN = "TOKEN"
LEVELS: tuple[str, ...] = (PLAIN_TEXT, MASKED, REDACTED, TOKEN)

REDACTED_VALUE = "REDACTED"

# Skyflow's detokenize ``valueType`` per data type (SKYFLOW_WIRE.md §3.1). The string-shaped types
# (email, phone, ssn, card_number) are strings on the wire.
VALUE_TYPES: dict[str, str] = {
    "string": "STRING",
    "email": "STRING",
    "phone": "STRING",
    "ssn": "STRING",
    "card_number": "STRING",
    "integer": "INTEGER",
    "number": "FLOAT",
    "boolean": "BOOL",
    "date": "DATE",
    "datetime": "DATETIME",
    "json": "JSON",
}
NULL_VALUE_TYPE = "NONE"

ColumnPlan = tuple[str, str, Masker | None, str]
"""``(column_name, level, masker, data_type)``; ``masker`` is used at ``MASKED`` (None: ``full``)."""

RowRenderer = Callable[[Mapping[str, object]], dict[str, object]]


def value_type(data_type: str) -> str:
    """Skyflow's ``valueType`` for a column's data type (``STRING``, ``INTEGER``, ``FLOAT``…)."""
    try:
        return VALUE_TYPES[data_type]
    except KeyError:
        raise ValueError(f"unknown data type {data_type!r}; use one of {', '.join(DATA_TYPES)}") from None


def plain_json(value: object) -> object:
    """A stored plaintext value as its typed JSON value: dates become ISO strings, the rest as is."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def plain_text(value: object) -> str:
    """A stored plaintext value as a string, for detokenize's ``value``; unchanged text for strings.

    Booleans are ``true``/``false`` and JSON is compact JSON text, so a client can parse the string
    back by its ``valueType``.
    """
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"unknown redaction level {level!r}; use one of {', '.join(LEVELS)}")


def render_value(value: object, level: str, masker: Masker | None, data_type: str) -> object:
    """One value as it appears in a record's ``fields`` (typed at ``PLAIN_TEXT``, else a string)."""
    _check_level(level)
    if level == REDACTED:
        return REDACTED_VALUE
    if value is None:
        return None
    if level == MASKED:
        return (masker or compile_masking(None, data_type))(value)
    if level == TOKEN:
        return value
    return plain_json(value)


def detokenize_value(value: object, level: str, masker: Masker | None, data_type: str) -> tuple[str, str]:
    """``(valueType, value)`` of a detokenized value; ``value`` is always a string (wire §3.1).

    Masked and redacted values are ``STRING``: the string no longer holds a value of the column's
    type, so a client that parses by ``valueType`` must not try (``int("***45")`` would fail).
    """
    _check_level(level)
    if level == TOKEN:
        raise ValueError("detokenize returns values, not tokens: use PLAIN_TEXT, MASKED or REDACTED")
    if level == REDACTED:
        return "STRING", REDACTED_VALUE
    if value is None:
        return NULL_VALUE_TYPE, ""
    if level == MASKED:
        return "STRING", (masker or compile_masking(None, data_type))(value)
    return value_type(data_type), plain_text(value)


def make_row_renderer(plan: Sequence[ColumnPlan]) -> RowRenderer:
    """Build the one function that turns a row's plaintext values into its output ``fields``.

    ``plan`` lists the columns the caller may see, in output order, each with its level for this
    set of rows (rows whose levels differ by row condition get one renderer per distinct plan;
    building one is cheap, so cache them by plan). The returned function takes a mapping of column
    → stored value (decrypted; at ``TOKEN``, the token) and returns a new dict. It reads only the
    columns it shows other than ``REDACTED`` ones, so those need no decrypting; a missing column is
    null. Per row it copies a prepared dict (``REDACTED`` already filled in) and runs one loop.
    """
    template: dict[str, object] = {}
    steps: list[tuple[str, Callable[[object], object] | None]] = []
    for name, level, masker, data_type in plan:
        _check_level(level)
        value_type(data_type)  # fail at build time, not on the first row, for a bad plan
        if level == REDACTED:
            template[name] = REDACTED_VALUE
            continue
        template[name] = None
        if level == MASKED:
            steps.append((name, masker or compile_masking(None, data_type)))
        elif level == PLAIN_TEXT and data_type in ("date", "datetime"):
            steps.append((name, plain_json))
        else:
            # PLAIN_TEXT of any other type and TOKEN pass through: no call per value.
            steps.append((name, None))
    copy = template.copy

    def render(values: Mapping[str, object]) -> dict[str, object]:
        out = copy()
        get = values.get
        for name, convert in steps:
            value = get(name)
            if value is not None and convert is not None:
                value = convert(value)
            out[name] = value
        return out

    return render
