"""Typed wire output per level: record values, detokenize (valueType, value), the row renderer."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaults.masking import (
    DATA_TYPES,
    FULL_MASK,
    MASKED,
    PLAIN_TEXT,
    REDACTED,
    TOKEN,
    VALUE_TYPES,
    ColumnPlan,
    compile_masking,
    detokenize_value,
    make_row_renderer,
    plain_json,
    plain_text,
    render_value,
    value_type,
)


def test_every_data_type_has_a_value_type() -> None:
    assert set(VALUE_TYPES) == set(DATA_TYPES)
    assert {value_type(t) for t in DATA_TYPES} <= {"STRING", "INTEGER", "FLOAT", "BOOL", "DATETIME", "DATE", "JSON"}
    assert value_type("integer") == "INTEGER"
    assert value_type("number") == "FLOAT"
    assert value_type("boolean") == "BOOL"
    assert value_type("card_number") == "STRING"


def test_unknown_data_type() -> None:
    with pytest.raises(ValueError, match="unknown data type 'blob'"):
        value_type("blob")


@pytest.mark.parametrize(
    ("value", "data_type", "plain"),
    [
        ("Ada", "string", "Ada"),
        (42, "integer", 42),
        (1.5, "number", 1.5),
        (True, "boolean", True),
        ({"a": [1, 2]}, "json", {"a": [1, 2]}),
        (dt.date(1990, 5, 17), "date", "1990-05-17"),
        ("1990-05-17", "date", "1990-05-17"),
        (dt.datetime(1990, 5, 17, 1, 2, 3, tzinfo=dt.UTC), "datetime", "1990-05-17T01:02:03+00:00"),
        (None, "string", None),
    ],
)
def test_render_value_plain_is_typed(value: object, data_type: str, plain: object) -> None:
    assert render_value(value, PLAIN_TEXT, None, data_type) == plain
    assert type(render_value(value, PLAIN_TEXT, None, data_type)) is type(plain)


def test_render_value_other_levels() -> None:
    last4 = compile_masking({"preset": "last4"}, "integer")
    assert render_value(123456789, MASKED, last4, "integer") == "*****6789"
    assert render_value(123456789, MASKED, None, "integer") == FULL_MASK
    assert render_value(None, MASKED, last4, "integer") is None
    assert render_value(123456789, REDACTED, last4, "integer") == "REDACTED"
    assert render_value(None, REDACTED, None, "integer") == "REDACTED"
    assert render_value("tok-1", TOKEN, None, "integer") == "tok-1"
    with pytest.raises(ValueError, match="unknown redaction level 'DEFAULT'"):
        render_value(1, "DEFAULT", None, "integer")


@pytest.mark.parametrize(
    ("value", "data_type", "expected"),
    [
        ("Ada", "string", ("STRING", "Ada")),
        ("José", "string", ("STRING", "José")),  # plaintext is never normalized
        (42, "integer", ("INTEGER", "42")),
        (1.5, "number", ("FLOAT", "1.5")),
        (True, "boolean", ("BOOL", "true")),
        (False, "boolean", ("BOOL", "false")),
        ({"b": 1, "a": "é"}, "json", ("JSON", '{"b":1,"a":"é"}')),
        ([1, 2], "json", ("JSON", "[1,2]")),
        (dt.date(1990, 5, 17), "date", ("DATE", "1990-05-17")),
        ("1990-05-17T01:02:03Z", "datetime", ("DATETIME", "1990-05-17T01:02:03Z")),
        ("4111111111111111", "card_number", ("STRING", "4111111111111111")),
        (None, "string", ("NONE", "")),
    ],
)
def test_detokenize_plain_value_is_always_a_string(value: object, data_type: str, expected: tuple[str, str]) -> None:
    assert detokenize_value(value, PLAIN_TEXT, None, data_type) == expected


def test_detokenize_masked_and_redacted_are_strings() -> None:
    ssn = compile_masking({"preset": "ssn"}, "ssn")
    assert detokenize_value("123-45-6789", MASKED, ssn, "ssn") == ("STRING", "***-**-6789")
    assert detokenize_value(42, MASKED, None, "integer") == ("STRING", FULL_MASK)
    assert detokenize_value(42, REDACTED, None, "integer") == ("STRING", "REDACTED")
    assert detokenize_value(None, MASKED, None, "integer") == ("NONE", "")
    with pytest.raises(ValueError, match="detokenize returns values, not tokens"):
        detokenize_value("x", TOKEN, None, "string")


def test_plain_helpers() -> None:
    assert plain_json(dt.date(2020, 1, 2)) == "2020-01-02"
    assert plain_json({"a": 1}) == {"a": 1}
    assert plain_text(None) == ""
    assert plain_text(object.__new__(type("Opaque", (), {"__str__": lambda self: "opaque"}))) == '"opaque"'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@given(json_values)
def test_detokenize_json_round_trips(value: object) -> None:
    value_type_, text = detokenize_value(value, PLAIN_TEXT, None, "json")
    assert isinstance(text, str)
    if value is None:
        assert value_type_ == "NONE"
    elif isinstance(value, str):
        assert text == value
    else:
        assert json.loads(text) == value


def _plan() -> list[ColumnPlan]:
    return [
        ("name", PLAIN_TEXT, None, "string"),
        ("age", PLAIN_TEXT, None, "integer"),
        ("vip", PLAIN_TEXT, None, "boolean"),
        ("prefs", PLAIN_TEXT, None, "json"),
        ("born", PLAIN_TEXT, None, "date"),
        ("ssn", MASKED, compile_masking({"preset": "ssn"}, "ssn"), "ssn"),
        ("email", MASKED, None, "email"),
        ("card", REDACTED, None, "card_number"),
        ("phone", TOKEN, None, "phone"),
    ]


def test_row_renderer_types_each_level() -> None:
    render = make_row_renderer(_plan())
    row = {
        "name": "Ada",
        "age": 36,
        "vip": True,
        "prefs": {"lang": "en"},
        "born": dt.date(1815, 12, 10),
        "ssn": "123-45-6789",
        "email": "ada@example.com",
        "card": "4111111111111111",
        "phone": "0b6e8a0e-1111-4c4c-9c9c-000000000000",
        "not_in_plan": "secret",
    }
    out = render(row)
    assert out == {
        "name": "Ada",
        "age": 36,
        "vip": True,
        "prefs": {"lang": "en"},
        "born": "1815-12-10",
        "ssn": "***-**-6789",
        "email": FULL_MASK,
        "card": "REDACTED",
        "phone": "0b6e8a0e-1111-4c4c-9c9c-000000000000",
    }
    assert list(out) == [c[0] for c in _plan()]  # plan order
    assert render(row) is not out  # a fresh dict per row


def test_row_renderer_missing_and_null_values() -> None:
    render = make_row_renderer(_plan())
    out = render({"born": None})
    assert out["card"] == "REDACTED"
    assert all(v is None for k, v in out.items() if k != "card")


def test_row_renderer_never_reads_redacted_columns() -> None:
    class Guarded(dict[str, object]):
        def get(self, key: str, default: object = None) -> object:
            assert key != "card", "a REDACTED column was read"
            return super().get(key, default)

    render = make_row_renderer(_plan())
    assert render(Guarded(card="4111111111111111", name="Ada"))["card"] == "REDACTED"


def test_row_renderer_rejects_a_bad_plan_at_build_time() -> None:
    with pytest.raises(ValueError, match="unknown redaction level"):
        make_row_renderer([("a", "SHOWN", None, "string")])
    with pytest.raises(ValueError, match="unknown data type"):
        make_row_renderer([("a", PLAIN_TEXT, None, "blob")])


def test_row_renderer_empty_plan() -> None:
    assert make_row_renderer([])({"a": 1}) == {}
