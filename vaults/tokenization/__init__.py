"""Tokenization: token generators for the column kinds of DESIGN.md §7, their schema rules, Luhn.

Pure functions, no Django and no I/O: the database enforces token uniqueness and asks a
``Tokenizer`` for the next candidate on a collision.
"""

from vaults.tokenization.generators import (
    CARD_MAX_DIGITS,
    CARD_MIN_DIGITS,
    MAX_TOKEN_LENGTH,
    MIN_KEY_BYTES,
    Clock,
    IssuedToken,
    TokenCollisionError,
    Tokenizer,
    brought_token_problem,
    deterministic_token,
    format_preserving_token,
    normalize_token_value,
    transient_token,
    uuid_token,
)
from vaults.tokenization.luhn import luhn_check_digit, luhn_fix_digit, luhn_sum, luhn_valid
from vaults.tokenization.validation import (
    DETERMINISTIC_UUID,
    FORMAT_PRESERVING,
    FORMAT_PRESERVING_DATA_TYPES,
    MAX_TOKEN_TTL_MINUTES,
    NONE,
    TOKENIZATION_KINDS,
    TRANSIENT,
    UUID,
    validate_tokenization,
)

__all__ = [
    "CARD_MAX_DIGITS",
    "CARD_MIN_DIGITS",
    "DETERMINISTIC_UUID",
    "FORMAT_PRESERVING",
    "FORMAT_PRESERVING_DATA_TYPES",
    "MAX_TOKEN_LENGTH",
    "MAX_TOKEN_TTL_MINUTES",
    "MIN_KEY_BYTES",
    "NONE",
    "TOKENIZATION_KINDS",
    "TRANSIENT",
    "UUID",
    "Clock",
    "IssuedToken",
    "TokenCollisionError",
    "Tokenizer",
    "brought_token_problem",
    "deterministic_token",
    "format_preserving_token",
    "luhn_check_digit",
    "luhn_fix_digit",
    "luhn_sum",
    "luhn_valid",
    "normalize_token_value",
    "transient_token",
    "uuid_token",
    "validate_tokenization",
]
