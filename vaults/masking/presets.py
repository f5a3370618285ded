"""The masking presets of DESIGN.md §7 as pure functions from a value's text to its masked text.

What each preset shows (``*`` is the mask character; ``FULL_MASK`` is ``*****``):

========================  ===========================================================================
preset                    output
========================  ===========================================================================
``full``                  always ``*****``: not even the length or emptiness of the value shows.
``last4``                 every character ``*`` but the last 4, length kept: ``************1111``.
                          For ``card_number``, ``ssn`` and ``phone`` only letters and digits count and
                          are masked; separators stay in place: ``****-****-****-1111``.
``first6_last4``          first 6 and last 4 kept, the rest ``*``: ``411111******1111`` (separators as
                          for ``last4``). Only when at least 5 characters stay hidden (15+ counted
                          characters: Amex and longer PANs, as PCI DSS allows); shorter values are
                          masked as ``last4``.
``email``                 ``j***@example.com``: the local part's first character and the domain; the
                          local part's length is hidden. A one-character local part shows as ``***``.
                          A value without ``local@domain`` is masked as ``full``.
``ssn``                   ``***-**-6789`` for a 9-digit SSN written ``123-45-6789``, ``123 45 6789`` or
                          ``123456789``; anything else is masked as ``full``.
``phone``                 every digit and letter ``*`` but the last 4 digits; ``+``, spaces, dashes and
                          parentheses kept: ``+* (***) ***-2671``.
``initial``               the first non-blank character and ``***``: ``J***``. A value of fewer than 2
                          non-blank characters is masked as ``full``.
``year``                  the year of an ISO date or datetime, every other digit ``*``, separators kept:
                          ``1990-**-**``, ``1990-**-**T**:**:**+**:**``. A value that is not an ISO
                          date/datetime is masked as ``full``.
========================  ===========================================================================

The floor under every preset: **at least half of the counted characters stay hidden**. A preset that
keeps ``k`` trailing characters keeps ``min(k, n // 2)`` of a value of ``n`` counted characters, so
``last4`` of ``"12345"`` is ``***45`` and of ``"ab"`` is ``*b``: a short value is never shown whole.
Masking works on Unicode code points after NFC normalization (so ``é`` written as ``e`` + combining
accent counts, and is masked, as one character). Non-ASCII digits and letters are masked like ASCII
ones; only ASCII ``0-9`` count as digits for ``ssn``, ``phone`` and ``year``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Callable, Iterable

MASK_CHAR = "*"
FULL_MASK = "*****"

PRESETS: tuple[str, ...] = ("full", "last4", "first6_last4", "email", "ssn", "phone", "initial", "year")

# Data types whose format is public (separators carry no secret), so separators are shown in place.
SEPARATED_TYPES = frozenset({"card_number", "ssn", "phone"})

# Which data types each preset may be used with (validated at schema-save time). A preset outside its
# list would either reveal the value (``last4`` of a boolean is ``**ue``) or never apply.
PRESET_DATA_TYPES: dict[str, frozenset[str]] = {
    "full": frozenset(
        {"string", "integer", "number", "boolean", "date", "datetime", "email", "phone", "ssn", "card_number", "json"}
    ),
    "last4": frozenset({"string", "integer", "email", "phone", "ssn", "card_number"}),
    "first6_last4": frozenset({"string", "integer", "card_number"}),
    "email": frozenset({"string", "email"}),
    "ssn": frozenset({"string", "ssn"}),
    "phone": frozenset({"string", "phone"}),
    "initial": frozenset({"string", "email"}),
    "year": frozenset({"string", "date", "datetime"}),
}

_ASCII_DIGITS = frozenset("0123456789")
_SSN_RE = re.compile(r"[0-9]{3}([- ]?)[0-9]{2}\1[0-9]{4}")
_PHONE_KEPT = frozenset("+ -().")
_DROP_DIGITS = str.maketrans(dict.fromkeys("0123456789"))
# str.translate is the fast path for ASCII (a C loop, ~0.1 µs); non-ASCII text takes a Python loop.
_ASCII_ALNUM = frozenset(c for c in map(chr, range(128)) if c.isalnum())
_MASK_ASCII_ALNUM = str.maketrans(dict.fromkeys(_ASCII_ALNUM, MASK_CHAR))
_DROP_ASCII_ALNUM = str.maketrans(dict.fromkeys(_ASCII_ALNUM))
_MASK_ASCII_PHONE = str.maketrans({chr(i): MASK_CHAR for i in range(128) if chr(i) not in _PHONE_KEPT})
_MASK_ASCII_PHONE_TAIL = str.maketrans(
    {chr(i): MASK_CHAR for i in range(128) if chr(i) not in _PHONE_KEPT and chr(i) not in _ASCII_DIGITS}
)
_DIGIT_TO_MASK = str.maketrans(dict.fromkeys("0123456789", MASK_CHAR))


def masking_text(value: object) -> str:
    """The text a mask is applied to: strings NFC-normalized, other JSON values in their JSON form.

    Dates and datetimes give their ISO form; JSON objects and arrays their compact, key-sorted JSON
    (so the same value always masks the same way).
    """
    if isinstance(value, str):
        # ASCII is already NFC: skip the normalizer on the common path.
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)
    return unicodedata.normalize("NFC", str(value))


def mask_full(text: str) -> str:
    """``full``: a fixed mask that shows nothing of the value, not even its length."""
    return FULL_MASK


def _keep_ends(text: str, first: int, last: int) -> str:
    """Keep ``first`` leading and ``last`` trailing characters, ``*`` for the rest (length kept)."""
    hidden = len(text) - first - last
    return text[:first] + MASK_CHAR * hidden + text[len(text) - last :]


def _keep_ends_separated(text: str, first: int, last: int) -> str:
    """As ``_keep_ends`` counting only letters and digits; other characters stay where they are."""
    # Mask every letter and digit (char for char, so indices align), then copy the kept ends back.
    masked = _mask_alnum(text)
    start = _nth_alnum_from_left(text, first) + 1 if first else 0
    end = _nth_alnum_from_right(text, last) if last else len(text)
    return text[:start] + masked[start:end] + text[end:]


def _mask_alnum(text: str) -> str:
    if text.isascii():
        return text.translate(_MASK_ASCII_ALNUM)
    return "".join(MASK_CHAR if c.isalnum() else c for c in text)


def _nth_alnum_from_left(text: str, n: int) -> int:
    """Index of the ``n``-th (1-based) letter or digit from the left; the caller knows it exists."""
    i = -1
    while n:
        i += 1
        n -= text[i].isalnum()
    return i


def _nth_alnum_from_right(text: str, n: int) -> int:
    """Index of the ``n``-th (1-based) letter or digit from the right; the caller knows it exists."""
    i = len(text)
    while n:
        i -= 1
        n -= text[i].isalnum()
    return i


def _alnum_count(text: str) -> int:
    if text.isascii():
        return len(text) - len(text.translate(_DROP_ASCII_ALNUM))
    return sum(1 for c in text if c.isalnum())


def mask_last4(text: str, *, separated: bool = False) -> str:
    """``last4``: the last 4 counted characters (at most half of them), the rest masked."""
    if separated:
        return _keep_ends_separated(text, 0, min(4, _alnum_count(text) // 2))
    return _keep_ends(text, 0, min(4, len(text) // 2))


def mask_first6_last4(text: str, *, separated: bool = False) -> str:
    """``first6_last4``: first 6 and last 4 when 5 or more stay hidden, else as ``last4``."""
    count = _alnum_count(text) if separated else len(text)
    if count - 10 < 5:
        return mask_last4(text, separated=separated)
    if separated:
        return _keep_ends_separated(text, 6, 4)
    return _keep_ends(text, 6, 4)


def mask_email(text: str) -> str:
    """``email``: ``j***@example.com``; the local part's length never shows."""
    # rpartition: a quoted local part may itself contain "@"; the domain never does.
    local, at, domain = text.strip().rpartition("@")
    if not at or not local or not domain:
        return FULL_MASK
    shown = local[0] if len(local) >= 2 else ""
    return f"{shown}***@{domain}"


def mask_ssn(text: str) -> str:
    """``ssn``: ``***-**-6789`` for a 9-digit SSN, ``full`` for anything else."""
    text = text.strip()
    if _SSN_RE.fullmatch(text) is None:
        return FULL_MASK
    return "***-**-" + text[-4:]


def mask_phone(text: str) -> str:
    """``phone``: the last 4 digits (at most half of them); other digits and letters masked."""
    digits = len(text) - len(text.translate(_DROP_DIGITS))
    keep = min(4, digits // 2)
    split = len(text)
    while keep:  # back to the keep-th ASCII digit from the right; it exists since keep <= digits
        split -= 1
        keep -= text[split] in _ASCII_DIGITS
    return _mask_phone(text[:split], _MASK_ASCII_PHONE, ()) + _mask_phone(
        text[split:], _MASK_ASCII_PHONE_TAIL, _ASCII_DIGITS
    )


def _mask_phone(text: str, ascii_table: dict[int, str], kept: Iterable[str]) -> str:
    """Every character but phone punctuation (and ``kept``) masked."""
    if text.isascii():
        return text.translate(ascii_table)
    shown = _PHONE_KEPT.union(kept)
    return "".join(c if c in shown else MASK_CHAR for c in text)


def mask_initial(text: str) -> str:
    """``initial``: ``J***``; fewer than 2 non-blank characters give ``full``."""
    text = text.strip()
    if len(text) < 2:
        return FULL_MASK
    return text[0] + "***"


def mask_year(text: str) -> str:
    """``year``: the year of an ISO date/datetime, every other digit masked, separators kept."""
    text = text.strip()
    year = _iso_year(text)
    if year is None:
        return FULL_MASK
    # Both ISO forms start with the 4-digit year, so text[4:] is everything after it.
    return f"{year:04d}" + text[4:].translate(_DIGIT_TO_MASK)


def _iso_year(text: str) -> int | None:
    """The year of an ISO 8601 date or datetime string, or None when it is neither."""
    if len(text) < 8 or not text[:4].isascii() or not text[:4].isdigit():
        # fromisoformat also accepts week dates like "2024-W01" that do start with the year, but
        # rejects nothing that starts otherwise; checking the prefix keeps text[4:] meaningful.
        return None
    try:
        return dt.datetime.fromisoformat(text).year
    except ValueError:
        return None


def preset_masker(preset: str, data_type: str) -> Callable[[str], str]:
    """The text → masked text function for a (validated) preset and a column's data type."""
    separated = data_type in SEPARATED_TYPES
    if preset == "last4":
        return (lambda t: mask_last4(t, separated=True)) if separated else mask_last4
    if preset == "first6_last4":
        return (lambda t: mask_first6_last4(t, separated=True)) if separated else mask_first6_last4
    return _FIXED[preset]


_FIXED: dict[str, Callable[[str], str]] = {
    "full": mask_full,
    "email": mask_email,
    "ssn": mask_ssn,
    "phone": mask_phone,
    "initial": mask_initial,
    "year": mask_year,
}
