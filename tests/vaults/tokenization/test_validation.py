"""Schema rules for tokenization kinds and token_ttl_minutes."""

from __future__ import annotations

import pytest

from vaults.tokenization import MAX_TOKEN_TTL_MINUTES, TOKENIZATION_KINDS, validate_tokenization

KINDS = "NONE, UUID, DETERMINISTIC_UUID, FORMAT_PRESERVING, TRANSIENT"


@pytest.mark.parametrize(
    ("kind", "ttl", "data_type"),
    [
        ("NONE", None, "string"),
        ("UUID", None, "json"),
        ("DETERMINISTIC_UUID", None, "integer"),
        ("FORMAT_PRESERVING", None, "card_number"),
        ("FORMAT_PRESERVING", None, "email"),
        ("FORMAT_PRESERVING", None, None),
        ("TRANSIENT", 1, "string"),
        ("TRANSIENT", MAX_TOKEN_TTL_MINUTES, "date"),
    ],
)
def test_valid(kind: str, ttl: object, data_type: str | None) -> None:
    assert validate_tokenization(kind, token_ttl_minutes=ttl, data_type=data_type) == []


@pytest.mark.parametrize(
    ("kind", "ttl", "data_type", "errors"),
    [
        ("uuid", None, None, [f"tokenization: unknown kind 'uuid'; use one of {KINDS}"]),
        (None, None, None, [f"tokenization: unknown kind None; use one of {KINDS}"]),
        (
            "TRANSIENT",
            None,
            None,
            ["token_ttl_minutes: required for TRANSIENT tokenization (the minutes a token lives)"],
        ),
        ("TRANSIENT", 0, None, ["token_ttl_minutes: 0 is out of range; use 1 to 43200 (30 days)"]),
        ("TRANSIENT", -5, None, ["token_ttl_minutes: -5 is out of range; use 1 to 43200 (30 days)"]),
        ("TRANSIENT", 43201, None, ["token_ttl_minutes: 43201 is out of range; use 1 to 43200 (30 days)"]),
        ("TRANSIENT", 1.5, None, ["token_ttl_minutes: must be a whole number of minutes, not 1.5"]),
        ("TRANSIENT", "10", None, ["token_ttl_minutes: must be a whole number of minutes, not '10'"]),
        ("TRANSIENT", True, None, ["token_ttl_minutes: must be a whole number of minutes, not True"]),
        ("UUID", 10, None, ["token_ttl_minutes: only TRANSIENT tokens expire; leave it null for UUID"]),
        ("NONE", 0, None, ["token_ttl_minutes: only TRANSIENT tokens expire; leave it null for NONE"]),
        (
            "FORMAT_PRESERVING",
            5,
            "date",
            [
                "token_ttl_minutes: only TRANSIENT tokens expire; leave it null for FORMAT_PRESERVING",
                "tokenization: FORMAT_PRESERVING does not apply to data type 'date'; it takes card_number, email, "
                "phone, ssn, string (use UUID or DETERMINISTIC_UUID for the others)",
            ],
        ),
    ],
)
def test_invalid(kind: object, ttl: object, data_type: str | None, errors: list[str]) -> None:
    assert validate_tokenization(kind, token_ttl_minutes=ttl, data_type=data_type) == errors


def test_kinds() -> None:
    assert TOKENIZATION_KINDS == ("NONE", "UUID", "DETERMINISTIC_UUID", "FORMAT_PRESERVING", "TRANSIENT")
