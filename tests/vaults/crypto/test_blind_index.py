"""Blind indexes: per-column keys, normalization by data type, independence from data keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaults.crypto.blind_index import IndexKey, blind_index, normalize
from vaults.crypto.errors import BlindIndexValueError
from vaults.crypto.keyring import Keyring, StoredIndexKey
from vaults.crypto.providers import LocalKeyProvider

KEY = IndexKey.derive(b"\x11" * 32, vault_id="vault-a")


def digest(value: object, data_type: str = "string", *, key: IndexKey = KEY, column: str = "c") -> str:
    return blind_index(key, table="persons", column=column, data_type=data_type, value=value)


@given(value=st.text())
def test_same_value_same_digest_per_column(value: str) -> None:
    first = digest(value)
    assert first == digest(value) and len(first) == 64 and int(first, 16) >= 0
    assert digest(value, column="other") != first


def test_columns_tables_vaults_and_secrets_separate_digests() -> None:
    base = digest("x")
    assert blind_index(KEY, table="people", column="c", data_type="string", value="x") != base
    # Length-prefixed derivation: ("ab", "c") and ("a", "bc") are different columns.
    assert blind_index(KEY, table="ab", column="c", data_type="string", value="x") != blind_index(
        KEY, table="a", column="bc", data_type="string", value="x"
    )
    assert digest("x", key=IndexKey.derive(b"\x11" * 32, vault_id="vault-b")) != base
    assert digest("x", key=IndexKey.derive(b"\x12" * 32, vault_id="vault-a")) != base


def test_column_keys_are_derived_once() -> None:
    key = IndexKey.derive(b"\x13" * 32, vault_id="v")
    assert key.column_key("t", "c") is key.column_key("t", "c")


def test_index_keys_are_independent_of_data_keys() -> None:
    keyring = Keyring(LocalKeyProvider({"a": b"\x0a" * 32}, active="a"))
    secret, wrapped, kek_id = keyring.generate_index_key(vault_id="v")
    index_key = keyring.index_key(StoredIndexKey("v", kek_id, wrapped))
    before = digest("ann@example.org", "email", key=index_key)
    # New data key versions (a data-key rotation) do not touch the index key or its digests.
    for version in (1, 2, 3):
        data_plaintext = keyring.generate_data_key(vault_id="v", version=version).plaintext
        assert data_plaintext != secret
    assert digest("ann@example.org", "email", key=index_key) == before
    assert index_key.column_key("persons", "c") not in (secret, data_plaintext)


@pytest.mark.parametrize(
    ("data_type", "spellings"),
    [
        ("email", ["Ann@Example.ORG", " ann@example.org\n", "ann@example.org"]),
        ("phone", ["+1 (555) 010-9999", "15550109999", "1-555-010-9999"]),
        ("ssn", ["123-45-6789", "123 45 6789", "123456789"]),
        ("card_number", ["4111 1111 1111 1111", "4111-1111-1111-1111"]),
        ("string", ["caf\u00e9", "cafe\u0301"]),  # NFC: composed and decomposed é
        ("integer", [42, "42", " 0042 ", 42.0, Decimal("42.00"), "4.2e1"]),
        ("number", [1.5, "1.50", Decimal("1.5"), "15e-1", " 1.5 "]),
        ("number", [100, "1E2", "100.000"]),
        ("number", [0, "-0", "0.0", "0E+3", -0.0]),
        ("number", [0.1, "0.1"]),
        ("boolean", [True, "true", " TRUE "]),
        ("boolean", [False, "false", "False"]),
        ("date", [date(2024, 2, 29), "2024-02-29", " 2024-02-29 "]),
        (
            "datetime",
            [
                datetime(2024, 1, 1, 12, tzinfo=UTC),
                "2024-01-01T12:00:00+00:00",
                "2024-01-01T14:00:00+02:00",
                datetime(2024, 1, 1, 7, tzinfo=timezone(timedelta(hours=-5))),
            ],
        ),
        ("datetime", ["2024-01-01T12:00:00", datetime(2024, 1, 1, 12)]),
        ("json", [{"b": 1, "a": [1, "x"]}, {"a": [1, "x"], "b": 1}]),
    ],
)
def test_equal_values_in_any_spelling_index_alike(data_type: str, spellings: list[object]) -> None:
    assert len({normalize(value, data_type) for value in spellings}) == 1
    assert len({digest(value, data_type) for value in spellings}) == 1


@pytest.mark.parametrize(
    ("data_type", "left", "right"),
    [
        ("string", "Ann", "ann"),  # strings are exact
        ("string", " a", "a"),
        ("integer", 1, 2),
        ("number", "1.5", "1.05"),
        ("boolean", True, False),
        ("datetime", "2024-01-01T12:00:00", "2024-01-01T12:00:00+00:00"),  # naive is not UTC
        ("email", "a@x.org", "b@x.org"),
    ],
)
def test_different_values_index_differently(data_type: str, left: object, right: object) -> None:
    assert digest(left, data_type) != digest(right, data_type)


def test_canonical_texts() -> None:
    assert normalize(Decimal("1.2300"), "number") == b"1.23"
    assert normalize("1E2", "number") == b"100"
    assert normalize(-7, "integer") == b"-7"
    assert normalize("2024-01-01T14:00:00+02:00", "datetime") == b"2024-01-01T12:00:00+00:00"
    assert normalize({"é": None}, "json") == '{"é":null}'.encode()


@pytest.mark.parametrize(
    ("data_type", "value", "message"),
    [
        ("colour", "red", "Unknown data type"),
        ("email", 5, "must be a string"),
        ("ssn", "n/a", "must contain digits"),
        ("integer", True, "must be a number"),
        ("integer", None, "must be a number"),
        ("integer", "1.5", "fractional"),
        ("integer", "one", "not a number"),
        ("integer", 10**1002, "too large"),
        ("number", "NaN", "finite"),
        ("number", float("inf"), "finite"),
        ("number", "1e999999999", "too large or too small"),
        ("number", "1e-999999999", "too large or too small"),
        ("boolean", "yes", "true or false"),
        ("boolean", 1, "true or false"),
        ("date", "2024-02-30", "ISO 8601 date"),
        ("date", datetime(2024, 1, 1), "not a datetime"),
        ("date", 20240101, "ISO 8601 date"),
        ("datetime", "yesterday", "ISO 8601"),
        ("datetime", 1704110400, "ISO 8601"),
        ("json", {"a": float("nan")}, "JSON-serializable"),
        ("json", {1, 2}, "JSON-serializable"),
    ],
)
def test_values_without_a_canonical_form_are_refused(data_type: str, value: object, message: str) -> None:
    with pytest.raises(BlindIndexValueError, match=message):
        normalize(value, data_type)


def test_key_sizes_are_checked_and_reprs_hide_keys() -> None:
    with pytest.raises(ValueError, match="index secret must be 32 bytes"):
        IndexKey.derive(b"short", vault_id="v")
    with pytest.raises(ValueError, match="index key must be 32 bytes"):
        IndexKey(b"short", vault_id="v")
    assert repr(KEY) == "IndexKey(vault_id='vault-a')"
