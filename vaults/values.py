"""Values by data type (DESIGN.md §7): check and normalize what a caller sends, before it is stored.

Pure. ``coerce`` returns the canonical JSON value kept for a column (and sealed, for encrypted
columns) or raises ``ValueError`` with a message for the caller; it never echoes the value back,
since a rejected value may itself be sensitive.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from .tokenization import luhn_valid

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ().\-]{7,25}$")
_SSN = re.compile(r"^(\d{3})-?(\d{2})-?(\d{4})$")
_SEPARATORS = re.compile(r"[ \-]")
MAX_TEXT = 10_000
MAX_JSON = 100_000


def _text(value: Any, column: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{column}: expected text.")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TEXT:
        raise ValueError(f"{column}: longer than {MAX_TEXT} characters.")
    return text


def coerce(value: Any, data_type: str, column: str) -> Any:
    """The value to store for ``column`` of ``data_type`` (None stays None)."""
    if value is None:
        return None
    if data_type == "string":
        return _text(value, column)
    if data_type == "integer":
        if isinstance(value, bool):
            raise ValueError(f"{column}: expected a whole number.")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,30}", value.strip()):
            return int(value.strip())
        raise ValueError(f"{column}: expected a whole number.")
    if data_type == "number":
        if isinstance(value, bool):
            raise ValueError(f"{column}: expected a number.")
        if isinstance(value, int | float):
            return value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                if number == number and abs(number) != float("inf"):
                    return int(number) if re.fullmatch(r"[+-]?\d+", value.strip()) else number
        raise ValueError(f"{column}: expected a number.")
    if data_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"{column}: expected true or false.")
    if data_type == "date":
        try:
            return date.fromisoformat(_text(value, column)).isoformat()
        except ValueError as exc:
            raise ValueError(f"{column}: expected a date as YYYY-MM-DD.") from exc
    if data_type == "datetime":
        try:
            return datetime.fromisoformat(_text(value, column).replace("Z", "+00:00")).isoformat()
        except ValueError as exc:
            raise ValueError(f"{column}: expected an ISO 8601 date and time.") from exc
    if data_type == "email":
        text = _text(value, column).strip()
        if not _EMAIL.match(text):
            raise ValueError(f"{column}: expected an email address.")
        return text
    if data_type == "phone":
        text = _text(value, column).strip()
        if not _PHONE.match(text) or sum(c.isdigit() for c in text) < 7:
            raise ValueError(f"{column}: expected a phone number.")
        return text
    if data_type == "ssn":
        match = _SSN.match(_text(value, column).strip())
        if not match:
            raise ValueError(f"{column}: expected a social security number as 123-45-6789.")
        return "-".join(match.groups())
    if data_type == "card_number":
        digits = _SEPARATORS.sub("", _text(value, column).strip())
        if not digits.isdigit() or not 13 <= len(digits) <= 19 or not luhn_valid(digits):
            raise ValueError(f"{column}: expected a card number (13 to 19 digits, Luhn-valid).")
        return digits
    if data_type == "json":
        try:
            encoded = json.dumps(value, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{column}: expected a JSON value.") from exc
        if len(encoded) > MAX_JSON:
            raise ValueError(f"{column}: JSON value larger than {MAX_JSON} bytes.")
        return value
    raise ValueError(f"{column}: unknown data type {data_type}.")


# One encoder: json.dumps with any non-default option builds a new JSONEncoder per call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def to_plaintext(value: Any) -> bytes:
    """The bytes sealed for a value: its JSON, so the type survives the round trip."""
    return _encode(value).encode()


_decode = json.JSONDecoder().decode


def from_plaintext(raw: bytes) -> Any:
    # A JSON string without escapes is its text between the quotes (an inner quote would need one);
    # most sealed values are such strings, and slicing costs a fraction of decoding.
    if raw[:1] == b'"' and raw[-1:] == b'"' and b"\\" not in raw and len(raw) > 1:
        return raw[1:-1].decode()
    # str, not bytes: json.loads on bytes first sniffs the encoding, which costs as much as decoding.
    return _decode(raw.decode())
