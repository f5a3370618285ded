"""Blind indexes: keyed HMAC-SHA256 digests of normalized values, for equality search on encrypted columns.

Key hierarchy: a vault's random index secret (wrapped by the KEK like a data key, never the data key
itself, so rotating data keys needs no re-index) -> HKDF -> the vault index key -> HKDF with the
(table, column) names -> one HMAC key per column. The same value in two columns therefore has unrelated
digests, and a digest reveals nothing without the index secret.

Values are normalized by the column's data type first, so equal values in different spellings
("Ann@X.org " and "ann@x.org", "123-45-6789" and "123456789") find each other.
"""

from __future__ import annotations

import hmac
import json
import re
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vaults.crypto.canonical import encode_parts
from vaults.crypto.errors import BlindIndexValueError

INDEX_SECRET_SIZE: Final = 32
_VAULT_DOMAIN: Final = b"vaultstudio/blind-index/vault/v1"
_COLUMN_DOMAIN: Final = b"vaultstudio/blind-index/column/v1"
_NON_DIGITS: Final = re.compile(r"[^0-9]")
_MAX_EXPONENT: Final = 1000
_MAX_MAGNITUDE: Final = 10 ** (_MAX_EXPONENT + 1)
_DIGIT_TYPES: Final = frozenset({"phone", "ssn", "card_number"})
DATA_TYPES: Final = frozenset(
    {"string", "integer", "number", "boolean", "date", "datetime", "email", "phone", "ssn", "card_number", "json"}
)


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


class IndexKey:
    """A vault's index key; derives (and keeps) one HMAC key per column. Its repr shows no key."""

    __slots__ = ("vault_id", "_key", "_columns")

    def __init__(self, key: bytes, *, vault_id: str) -> None:
        if len(key) != 32:
            raise ValueError(f"An index key must be 32 bytes, not {len(key)}.")
        self.vault_id = vault_id
        self._key = key
        self._columns: dict[tuple[str, str], bytes] = {}

    @classmethod
    def derive(cls, secret: bytes, *, vault_id: str) -> IndexKey:
        """The vault's index key from its random index secret (bound to the vault id)."""
        if len(secret) != INDEX_SECRET_SIZE:
            raise ValueError(f"An index secret must be {INDEX_SECRET_SIZE} bytes, not {len(secret)}.")
        return cls(_hkdf(secret, encode_parts(_VAULT_DOMAIN, vault_id)), vault_id=vault_id)

    def __repr__(self) -> str:
        return f"IndexKey(vault_id={self.vault_id!r})"

    def column_key(self, table: str, column: str) -> bytes:
        """The HMAC key of one column (derived once, then kept: a vault has few columns)."""
        names = (table, column)
        key = self._columns.get(names)
        if key is None:
            # No lock: two threads racing here derive the same bytes, and a dict store is atomic.
            key = _hkdf(self._key, encode_parts(_COLUMN_DOMAIN, table, column))
            self._columns[names] = key
        return key


def blind_index(index_key: IndexKey, *, table: str, column: str, data_type: str, value: object) -> str:
    """The hex HMAC-SHA256 digest of ``value`` normalized for ``data_type``, keyed for (table, column)."""
    return hmac.digest(index_key.column_key(table, column), normalize(value, data_type), "sha256").hex()


def normalize(value: object, data_type: str) -> bytes:
    """The canonical UTF-8 text of ``value`` for its data type; ``BlindIndexValueError`` if it has none."""
    if data_type not in DATA_TYPES:
        raise BlindIndexValueError(f"Unknown data type {data_type!r}; expected one of {', '.join(sorted(DATA_TYPES))}.")
    if data_type == "json":
        return _canonical_json(value)
    if data_type in ("integer", "number", "boolean", "date", "datetime"):
        return _CANONICAL_TEXT[data_type](value).encode("utf-8")
    if not isinstance(value, str):
        raise BlindIndexValueError(f"A {data_type} value must be a string, not {type(value).__name__}.")
    text = unicodedata.normalize("NFC", value)
    if data_type == "email":
        return text.strip().lower().encode("utf-8")
    if data_type in _DIGIT_TYPES:
        digits = _NON_DIGITS.sub("", text)
        if not digits:
            raise BlindIndexValueError(f"A {data_type} value must contain digits; this one has none.")
        return digits.encode("ascii")
    return text.encode("utf-8")  # string: exact, up to Unicode normalization


def _integer(value: object) -> str:
    # bool is an int in Python, but True is not the integer 1 of a column.
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= _MAX_MAGNITUDE:
            raise BlindIndexValueError("An integer value is too large to index.")
        return str(value)
    number = _decimal(value, "integer")
    if number != number.to_integral_value():
        raise BlindIndexValueError("An integer value has a fractional part.")
    return str(int(number))


def _number(value: object) -> str:
    number = _decimal(value, "number")
    if number.is_zero():
        return "0"  # -0, 0.0 and 0E+3 are the same number
    return format(number.normalize(), "f")


def _decimal(value: object, data_type: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise BlindIndexValueError(f"A {data_type} value must be a number or its text, not {type(value).__name__}.")
    try:
        # repr(float) is the shortest text that round-trips, so 0.1 indexes as "0.1", not its binary expansion.
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise BlindIndexValueError(f"A {data_type} value is not a number.") from None
    if not number.is_finite():
        raise BlindIndexValueError(f"A {data_type} value must be finite.")
    # Bounds the canonical text: "1e999999999" would otherwise expand to a billion digits.
    if not number.is_zero() and abs(number.adjusted()) > _MAX_EXPONENT:
        raise BlindIndexValueError(f"A {data_type} value is too large or too small to index.")
    return number


def _boolean(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower()
    raise BlindIndexValueError("A boolean value must be true or false.")


def _date(value: object) -> str:
    if isinstance(value, datetime):
        raise BlindIndexValueError("A date value must be a date, not a datetime.")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise BlindIndexValueError("A date value must be an ISO 8601 date (YYYY-MM-DD).")


def _datetime(value: object) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise BlindIndexValueError("A datetime value must be ISO 8601.") from None
    if not isinstance(value, datetime):
        raise BlindIndexValueError("A datetime value must be ISO 8601.")
    # The same instant in any offset indexes alike; a naive value is kept as written.
    return (value.astimezone(UTC) if value.tzinfo is not None else value).isoformat()


def _canonical_json(value: object) -> bytes:
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise BlindIndexValueError("A json value must be JSON-serializable and finite.") from None
    return text.encode("utf-8")


_CANONICAL_TEXT: Final = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
}
