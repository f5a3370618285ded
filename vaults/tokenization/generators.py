"""Token generators for the column tokenization kinds of DESIGN.md §7.

* ``UUID`` — a random UUID4 (122 random bits).
* ``DETERMINISTIC_UUID`` — HMAC-SHA256 under the vault's tokenization key of (column group,
  normalized value), its first 16 bytes formatted as a UUID4 (version and variant bits set, so
  such tokens look like random ones). Same value and group → same token; without the key, a token
  says nothing about its value and cannot be guessed from one.
* ``FORMAT_PRESERVING`` — a random token of the same length and character classes: ASCII digits
  (and other Unicode digits) → random ASCII digits, upper-case letters → random A-Z, other letters
  → random a-z, everything else (separators, ``@``, ``.``…) kept in place; optionally the first
  ``keep_leading`` / last ``keep_trailing`` letters and digits kept. Card numbers (13-19 digits)
  keep their first 6 and last 4 digits and come out Luhn-valid. The token always differs from the
  value.
* ``TRANSIENT`` — a random UUID4 that expires ``ttl_minutes`` after the injected clock's now.

Uniqueness across the vault is the database's (a unique index on the token). On a collision the
caller asks ``Tokenizer.candidates`` for the next candidate: random kinds give a fresh one up to
``max_attempts`` times; a deterministic token has only one candidate by construction, so its
collision (another value with the same 122-bit HMAC prefix — about 2^61 tokens for even odds, or
the same value under another key) raises ``TokenCollisionError`` rather than retrying.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import string
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from vaults.tokenization.luhn import luhn_fix_digit
from vaults.tokenization.validation import (
    DETERMINISTIC_UUID,
    FORMAT_PRESERVING,
    NONE,
    TRANSIENT,
    UUID,
    validate_tokenization,
)

Clock = Callable[[], dt.datetime]

MIN_KEY_BYTES = 32
DEFAULT_MAX_ATTEMPTS = 10
CARD_MIN_DIGITS = 13
CARD_MAX_DIGITS = 19
MAX_TOKEN_LENGTH = 128  # the token table's key

# Domain separation: a change of format must never reproduce an old token for another meaning.
_HMAC_LABEL = b"vaultstudio.token.deterministic.v1\x00"
# Types whose separators are formatting, not data: "123-45-6789" and "123456789" are one SSN.
_SEPARATED_TYPES = frozenset({"card_number", "ssn", "phone"})
_FORMAT_CHARS = str.maketrans("", "", " -.()/")
_CARD_SEPARATORS = frozenset(" -")
_SYSTEM_RANDOM = random.SystemRandom()


class TokenCollisionError(RuntimeError):
    """No token candidate is left: the vault already holds every one offered."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token candidate; ``expires_at`` is set for ``TRANSIENT`` tokens only."""

    token: str
    expires_at: dt.datetime | None = None


def uuid_token(rng: random.Random | None = None) -> str:
    """A random UUID4 token; ``rng`` (default: the OS's CSPRNG) is injectable for tests."""
    return str(uuid.UUID(int=(rng or _SYSTEM_RANDOM).getrandbits(128), version=4))


def normalize_token_value(value: object, data_type: str | None = None) -> str:
    """The canonical text of a value for deterministic tokens: equal values → equal text.

    Strings are NFC-normalized and stripped; for ``card_number``, ``ssn`` and ``phone`` spaces,
    dashes, dots, slashes and parentheses go; ``email`` is lower-cased. Other JSON values use their
    JSON text (objects with sorted keys), so ``42`` and ``"42"`` share a token, as the tokenize
    endpoint (which receives strings) needs.
    """
    if isinstance(value, str):
        text = unicodedata.normalize("NFC", value).strip()
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)
    if data_type in _SEPARATED_TYPES:
        return text.translate(_FORMAT_CHARS)
    if data_type == "email":
        return text.lower()
    return text


def deterministic_token(key: bytes, column_group: str, value: object, *, data_type: str | None = None) -> str:
    """The keyed token of ``value`` in ``column_group``: HMAC-SHA256 → UUID text."""
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"a tokenization key needs at least {MIN_KEY_BYTES} bytes")
    group = column_group.encode()
    # Length-prefix the group so ("ab", "c") and ("a", "bc") can never produce the same message.
    message = _HMAC_LABEL + len(group).to_bytes(4, "big") + group + normalize_token_value(value, data_type).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _is_slot(char: str) -> bool:
    """Whether a character is replaced in a format-preserving token (a digit or a letter)."""
    return char.isdigit() or char.isalpha()


def _random_like(char: str, rng: random.Random) -> str:
    """A random ASCII character of a slot character's class: digit, upper- or lower-case letter."""
    if char.isdigit():
        return rng.choice(string.digits)
    return rng.choice(string.ascii_uppercase if char.isupper() else string.ascii_lowercase)


def format_preserving_token(
    value: str,
    *,
    data_type: str = "string",
    keep_leading: int = 0,
    keep_trailing: int = 0,
    rng: random.Random | None = None,
) -> str:
    """A random token shaped like ``value`` (see the module docstring); never equal to it.

    Raises ``ValueError`` when no character is left to randomize (the token would be the value),
    or for a card number that is not 13-19 digits with optional spaces or dashes.
    """
    rng = rng or _SYSTEM_RANDOM
    if data_type == "card_number":
        return _card_token(value, rng)
    if keep_leading < 0 or keep_trailing < 0:
        raise ValueError("keep_leading and keep_trailing cannot be negative")
    slots = [i for i, c in enumerate(value) if _is_slot(c)]
    free = slots[keep_leading : max(keep_leading, len(slots) - keep_trailing)]
    if not free:
        raise ValueError(
            "a format-preserving token needs at least one letter or digit that is not kept; "
            "this value would be its own token"
        )
    chars = list(value)
    while True:
        for i in free:
            chars[i] = _random_like(value[i], rng)
        token = "".join(chars)
        if token != value:
            return token


def _card_token(value: str, rng: random.Random) -> str:
    """First 6 and last 4 digits kept, the middle random, one middle digit fixing the Luhn sum."""
    positions = [i for i, c in enumerate(value) if c in string.digits]
    if len(positions) + sum(1 for c in value if c in _CARD_SEPARATORS) != len(value) or not (
        CARD_MIN_DIGITS <= len(positions) <= CARD_MAX_DIGITS
    ):
        raise ValueError(
            f"a card number for a format-preserving token has {CARD_MIN_DIGITS}-{CARD_MAX_DIGITS} digits, "
            "optionally separated by spaces or dashes"
        )
    digits = [value[i] for i in positions]
    middle = range(6, len(digits) - 4)
    fixer = middle[-1]
    original = "".join(digits)
    while True:
        for i in middle:
            digits[i] = rng.choice(string.digits)
        candidate = luhn_fix_digit("".join(digits), fixer)
        # At least 2 free middle digits (13+ digits): 100+ Luhn-valid candidates, so this ends.
        if candidate != original:
            break
    chars = list(value)
    for pos, digit in zip(positions, candidate, strict=True):
        chars[pos] = digit
    return "".join(chars)


def transient_token(*, ttl_minutes: int, clock: Clock, rng: random.Random | None = None) -> IssuedToken:
    """A random UUID4 token that expires ``ttl_minutes`` after ``clock()``."""
    if ttl_minutes <= 0:
        raise ValueError("a transient token's TTL must be a positive number of minutes")
    return IssuedToken(uuid_token(rng), clock() + dt.timedelta(minutes=ttl_minutes))


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def brought_token_problem(kind: str, token: object) -> str | None:
    """Why a caller's own token (bring-your-own-token) cannot stand for a value in a column whose
    tokenization is ``kind``; None when it can.

    Deterministic columns refuse them: their token is derived from the value, and a brought one
    would break "the same value gets the same token". Otherwise any string a token table can key
    on is taken as it is (a format-preserving column does not check a brought token's format).
    """
    if kind == NONE:
        return "the column is not tokenized"
    if kind == DETERMINISTIC_UUID:
        return "the column's tokens are deterministic (derived from the value), so it takes no brought token"
    if not isinstance(token, str) or not token:
        return "a token must be a non-empty string"
    if len(token) > MAX_TOKEN_LENGTH:
        return f"a token is at most {MAX_TOKEN_LENGTH} characters"
    if any(char.isspace() or unicodedata.category(char).startswith("C") for char in token):
        return "a token may not contain spaces or control characters"
    return None


class Tokenizer:
    """A column's token generator, built once from its schema options; ``issue`` per value.

    ``key`` is the vault's tokenization key (``DETERMINISTIC_UUID``); ``column_group`` is the
    column's group, or a name unique to the column (e.g. ``"persons.ssn"``) when it has none.
    ``clock`` and ``rng`` are injectable for tests.
    """

    def __init__(
        self,
        kind: str,
        *,
        data_type: str = "string",
        column_group: str = "",
        key: bytes | None = None,
        token_ttl_minutes: int | None = None,
        keep_leading: int = 0,
        keep_trailing: int = 0,
        clock: Clock = _utc_now,
        rng: random.Random | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        errors = validate_tokenization(kind, token_ttl_minutes=token_ttl_minutes, data_type=data_type)
        if kind not in (UUID, DETERMINISTIC_UUID, FORMAT_PRESERVING, TRANSIENT) and not errors:
            errors = [f"tokenization: '{kind}' issues no tokens"]
        if kind == DETERMINISTIC_UUID and (key is None or len(key) < MIN_KEY_BYTES):
            errors.append(f"tokenization: DETERMINISTIC_UUID needs the vault's key of at least {MIN_KEY_BYTES} bytes")
        if max_attempts < 1:
            errors.append("tokenization: max_attempts must be at least 1")
        if errors:
            raise ValueError("; ".join(errors))
        self.kind = kind
        self.data_type = data_type
        self.column_group = column_group
        self._key = key or b""
        self._ttl = token_ttl_minutes or 0
        self._keep = (keep_leading, keep_trailing)
        self._clock = clock
        self._rng = rng or _SYSTEM_RANDOM
        self.max_attempts = max_attempts

    def brought(self, token: str) -> IssuedToken:
        """A caller's own token (checked by ``brought_token_problem``), expiring as this column's do."""
        if self.kind == TRANSIENT:
            return IssuedToken(token, self._clock() + dt.timedelta(minutes=self._ttl))
        return IssuedToken(token)

    def issue(self, value: object) -> IssuedToken:
        """The first token candidate for ``value``."""
        return next(self.candidates(value))

    def candidates(self, value: object) -> Iterator[IssuedToken]:
        """Token candidates for ``value``: take the next one when the database reports the last taken.

        Raises ``TokenCollisionError`` when asked for more than there are (see the module docstring).
        """
        if self.kind == DETERMINISTIC_UUID:
            yield IssuedToken(deterministic_token(self._key, self.column_group, value, data_type=self.data_type))
            raise TokenCollisionError(
                "the deterministic token of this value is held by another value: an HMAC-SHA256 "
                "collision, or a token carried over from another key; it cannot be regenerated"
            )
        for _ in range(self.max_attempts):
            yield self._random(value)
        raise TokenCollisionError(
            f"every one of {self.max_attempts} token candidates is taken; for format-preserving tokens "
            "the value may be too short to have free tokens left"
        )

    def _random(self, value: object) -> IssuedToken:
        if self.kind == UUID:
            return IssuedToken(uuid_token(self._rng))
        if self.kind == TRANSIENT:
            return transient_token(ttl_minutes=self._ttl, clock=self._clock, rng=self._rng)
        if not isinstance(value, str):
            raise ValueError("a format-preserving token is made from a string value")
        return IssuedToken(
            format_preserving_token(
                value,
                data_type=self.data_type,
                keep_leading=self._keep[0],
                keep_trailing=self._keep[1],
                rng=self._rng,
            )
        )
