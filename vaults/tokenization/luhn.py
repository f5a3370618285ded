"""The Luhn (mod 10) check of card numbers: validate, compute a check digit, fix one digit."""

from __future__ import annotations

_DIGITS = frozenset("0123456789")
_SEPARATORS = frozenset(" -")
# Luhn doubles every second digit from the right and adds the digits of the product.
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
# _DOUBLED is a permutation of 0-9, so a doubled position can reach any residue: its inverse.
_UNDOUBLE = tuple(_DOUBLED.index(r) for r in range(10))


def luhn_sum(digits: str) -> int:
    """The Luhn sum mod 10 of an all-digit string whose last digit is the check digit (0 = valid)."""
    total = 0
    for offset, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        total += _DOUBLED[d] if offset % 2 else d
    return total % 10


def luhn_valid(number: str) -> bool:
    """Whether a number passes the Luhn check; spaces and dashes are ignored, anything else fails."""
    digits = "".join(c for c in number if c not in _SEPARATORS)
    if len(digits) < 2 or not set(digits) <= _DIGITS:
        return False
    return luhn_sum(digits) == 0


def luhn_check_digit(payload: str) -> str:
    """The check digit to append to an all-digit ``payload`` so that the whole is Luhn-valid."""
    if not payload or not set(payload) <= _DIGITS:
        raise ValueError("a Luhn payload is a non-empty string of digits 0-9")
    return str(-luhn_sum(payload + "0") % 10)


def luhn_fix_digit(digits: str, position: int) -> str:
    """``digits`` with the digit at ``position`` replaced so that the whole is Luhn-valid.

    Any single position works, the check digit or another one, because doubling permutes 0-9.
    """
    if not digits or not set(digits) <= _DIGITS or not 0 <= position < len(digits):
        raise ValueError("luhn_fix_digit needs a string of digits 0-9 and a position inside it")
    zeroed = digits[:position] + "0" + digits[position + 1 :]
    need = -luhn_sum(zeroed) % 10
    doubled = (len(digits) - 1 - position) % 2 == 1
    digit = _UNDOUBLE[need] if doubled else need
    return digits[:position] + str(digit) + digits[position + 1 :]
