"""Luhn helpers: check, check digit, fixing one digit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaults.tokenization import luhn_check_digit, luhn_fix_digit, luhn_sum, luhn_valid


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("378282246310005", True),
        ("79927398713", True),
        ("4111111111111112", False),
        ("4111x111111111111", False),
        ("0", False),
        ("", False),
        ("٤١١١١١١١١١١١١١١١", False),  # Arabic-Indic digits are not card digits
    ],
)
def test_luhn_valid(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


def test_luhn_check_digit() -> None:
    assert luhn_check_digit("411111111111111") == "1"
    assert luhn_check_digit("7992739871") == "3"
    for bad in ("", "12a"):
        with pytest.raises(ValueError, match="non-empty string of digits"):
            luhn_check_digit(bad)


@given(st.text(alphabet="0123456789", min_size=1, max_size=25))
def test_check_digit_makes_any_payload_valid(payload: str) -> None:
    assert luhn_valid(payload + luhn_check_digit(payload))


@given(st.text(alphabet="0123456789", min_size=2, max_size=25), st.data())
def test_fixing_any_single_position_makes_it_valid(digits: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(digits) - 1))
    fixed = luhn_fix_digit(digits, position)
    assert luhn_sum(fixed) == 0
    assert fixed[:position] == digits[:position] and fixed[position + 1 :] == digits[position + 1 :]


@pytest.mark.parametrize(("digits", "position"), [("", 0), ("12a4", 0), ("1234", 4), ("1234", -1)])
def test_luhn_fix_digit_rejects_bad_input(digits: str, position: int) -> None:
    with pytest.raises(ValueError, match="luhn_fix_digit needs"):
        luhn_fix_digit(digits, position)
