"""The masking presets: what each shows per data type, edge inputs, and what it never shows."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaults.masking import FULL_MASK, PRESET_DATA_TYPES, PRESETS, compile_masking, masking_text


def mask(preset: str, value: object, data_type: str = "string") -> str:
    return compile_masking({"preset": preset}, data_type)(value)


@pytest.mark.parametrize(
    ("preset", "data_type", "value", "expected"),
    [
        # full: nothing shows, not even the length or emptiness
        ("full", "string", "Ada Lovelace", FULL_MASK),
        ("full", "string", "", FULL_MASK),
        ("full", "integer", 42, FULL_MASK),
        ("full", "boolean", True, FULL_MASK),
        ("full", "json", {"a": 1}, FULL_MASK),
        ("full", "date", dt.date(1990, 5, 17), FULL_MASK),
        # last4
        ("last4", "card_number", "4111111111111111", "************1111"),
        ("last4", "card_number", "4111-1111-1111-1111", "****-****-****-1111"),
        ("last4", "card_number", "4111 1111 1111 1111", "**** **** **** 1111"),
        ("last4", "ssn", "123-45-6789", "***-**-6789"),
        ("last4", "phone", "+1 (415) 555-2671", "+* (***) ***-2671"),
        ("last4", "string", "abcdefgh", "****efgh"),
        ("last4", "string", "4111-1111", "*****1111"),  # strings count every character
        ("last4", "string", "12345", "***45"),  # at most half shows
        ("last4", "string", "ab", "*b"),
        ("last4", "string", "a", "*"),
        ("last4", "string", "", ""),
        ("last4", "integer", 123456789, "*****6789"),
        ("last4", "email", "john@example.com", "************.com"),
        ("last4", "card_number", "12", "*2"),
        ("last4", "phone", "+33 é 1234-5678", "+** * ****-5678"),  # non-ASCII: same rules
        ("first6_last4", "card_number", "４１１１１１ 1111 1111 1111", "４１１１１１ **** **** 1111"),
        # first6_last4
        ("first6_last4", "card_number", "4111111111111111", "411111******1111"),
        ("first6_last4", "card_number", "4111-1111-1111-1111", "4111-11**-****-1111"),
        ("first6_last4", "card_number", "378282246310005", "378282*****0005"),  # Amex, 15 digits
        ("first6_last4", "card_number", "4222222222222", "*********2222"),  # 13 digits: as last4
        ("first6_last4", "string", "4111111111111111", "411111******1111"),
        ("first6_last4", "string", "short", "***rt"),
        ("first6_last4", "integer", 4111111111111111, "411111******1111"),
        # email
        ("email", "email", "john@example.com", "j***@example.com"),
        ("email", "email", "  John.Doe@Example.COM ", "J***@Example.COM"),
        ("email", "email", "a@x.io", "***@x.io"),
        ("email", "email", '"a@b"@example.com', '"***@example.com'),
        ("email", "email", "no-at-sign", FULL_MASK),
        ("email", "email", "@example.com", FULL_MASK),
        ("email", "email", "john@", FULL_MASK),
        ("email", "string", "", FULL_MASK),
        ("email", "email", "émile@exemple.fr", "é***@exemple.fr"),
        # ssn
        ("ssn", "ssn", "123-45-6789", "***-**-6789"),
        ("ssn", "ssn", "123456789", "***-**-6789"),
        ("ssn", "ssn", "123 45 6789", "***-**-6789"),
        ("ssn", "ssn", " 123-45-6789 ", "***-**-6789"),
        ("ssn", "ssn", "123-456789", FULL_MASK),  # mixed separators
        ("ssn", "ssn", "12-345-6789", FULL_MASK),
        ("ssn", "ssn", "1234567890", FULL_MASK),
        ("ssn", "ssn", "", FULL_MASK),
        ("ssn", "string", "١٢٣-٤٥-٦٧٨٩", FULL_MASK),  # non-ASCII digits are not an SSN
        # phone
        ("phone", "phone", "+1 (415) 555-2671", "+* (***) ***-2671"),
        ("phone", "phone", "4155552671", "******2671"),
        ("phone", "phone", "555-1234 ext 9", "***-*234 *** 9"),  # letters are data: masked
        ("phone", "phone", "12", "*2"),
        ("phone", "phone", "", ""),
        ("phone", "string", "José", "****"),
        # initial
        ("initial", "string", "John Smith", "J***"),
        ("initial", "string", "  Ada", "A***"),
        ("initial", "string", "Jo", "J***"),
        ("initial", "string", "J", FULL_MASK),
        ("initial", "string", "   ", FULL_MASK),
        ("initial", "string", "", FULL_MASK),
        ("initial", "string", "Émile", "É***"),
        ("initial", "email", "john@example.com", "j***"),
        # year
        ("year", "date", "1990-05-17", "1990-**-**"),
        ("year", "date", dt.date(1990, 5, 17), "1990-**-**"),
        ("year", "datetime", "1990-05-17T10:20:30+02:00", "1990-**-**T**:**:**+**:**"),
        ("year", "datetime", dt.datetime(1990, 5, 17, 10, 20, 30, tzinfo=dt.UTC), "1990-**-**T**:**:**+**:**"),
        ("year", "datetime", "1990-05-17T10:20:30.123Z", "1990-**-**T**:**:**.***Z"),
        ("year", "date", "19900517", "1990****"),
        ("year", "string", "May 17, 1990", FULL_MASK),
        ("year", "string", "1990", FULL_MASK),
        ("year", "string", "1990-13-45", FULL_MASK),
        ("year", "string", "abcd-05-17", FULL_MASK),
        ("year", "string", "", FULL_MASK),
    ],
)
def test_preset_output(preset: str, data_type: str, value: object, expected: str) -> None:
    assert data_type in PRESET_DATA_TYPES[preset]
    assert mask(preset, value, data_type) == expected


def test_non_ascii_is_masked_per_character_after_nfc() -> None:
    decomposed = "Jose\u0301"  # "José" with a combining accent: 5 code points, 4 characters
    assert mask("last4", decomposed) == "**sé"
    assert mask("last4", "日本語テキスト") == "****キスト"  # 7 characters: 3 show


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("abc", "abc"),
        ("Jose\u0301", "José"),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (1.5, "1.5"),
        (dt.date(2020, 1, 2), "2020-01-02"),
        (dt.datetime(2020, 1, 2, 3, 4, 5), "2020-01-02T03:04:05"),
        ({"b": 1, "a": "é"}, '{"a":"é","b":1}'),
        ([1, 2], "[1,2]"),
        (b"x", "b'x'"),
    ],
)
def test_masking_text(value: object, text: str) -> None:
    assert masking_text(value) == text


def test_masker_accepts_none_and_other_types() -> None:
    assert mask("last4", None) == ""
    assert mask("full", None) == FULL_MASK
    assert mask("last4", 12345678, "integer") == "****5678"


# --- properties: a mask never shows more than its preset says ------------------------------------

any_text = st.text(max_size=60)


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


@given(any_text)
def test_last4_shows_exactly_the_last_few_characters(value: str) -> None:
    text = _nfc(value)
    out = mask("last4", value)
    keep = min(4, len(text) // 2)
    assert len(out) == len(text)
    assert out[len(out) - keep :] == text[len(text) - keep :]
    assert set(out[: len(out) - keep]) <= {"*"}
    assert keep * 2 <= len(text)  # never the whole value, never more than half


@given(st.lists(st.sampled_from("0123456789 -"), max_size=25).map("".join))
def test_last4_on_card_numbers_shows_only_last_four_digits_and_separators(value: str) -> None:
    out = mask("last4", value, "card_number")
    digits = [c for c in value if c.isdigit()]
    keep = min(4, len(digits) // 2)
    shown = [c for c in out if c.isdigit()]
    assert shown == digits[len(digits) - keep :]
    assert [c for c in out if c in " -"] == [c for c in value if c in " -"]
    assert len(out) == len(value)


@given(st.lists(st.sampled_from("0123456789"), min_size=0, max_size=19).map("".join))
def test_first6_last4_hides_at_least_five_or_half(value: str) -> None:
    out = mask("first6_last4", value, "card_number")
    hidden = out.count("*")
    assert len(out) == len(value)
    assert hidden >= min(5, len(value)) or hidden * 2 >= len(value)
    for o, v in zip(out, value, strict=True):
        assert o in ("*", v)


@given(st.text(alphabet=st.sampled_from("0123456789abcXYZ +-()é"), max_size=30))
def test_phone_shows_at_most_half_of_the_digits_and_no_letter(value: str) -> None:
    out = mask("phone", value, "phone")
    digits = [c for c in value if c in "0123456789"]
    keep = min(4, len(digits) // 2)
    assert [c for c in out if c != "*" and c not in "+ -()"] == digits[len(digits) - keep :]
    assert len(out) == len(value)


@given(st.text(max_size=30))
def test_initial_shows_one_character_at_most(value: str) -> None:
    out = mask("initial", value)
    text = _nfc(value).strip()
    assert out == (text[0] + "***" if len(text) >= 2 else FULL_MASK)


@given(st.text(max_size=30), st.sampled_from(PRESETS))
def test_no_preset_shows_a_value_of_two_or_more_characters_whole(value: str, preset: str) -> None:
    data_type = "string" if "string" in PRESET_DATA_TYPES[preset] else "date"
    text = _nfc(value)
    # A value made only of the mask character ("**") shows nothing however it is masked.
    if len(text.strip()) >= 2 and text.strip().strip("*"):
        assert text.strip() not in mask(preset, value, data_type).replace("@", "")


@given(st.from_regex(r"[0-9]{3}-[0-9]{2}-[0-9]{4}", fullmatch=True))
def test_ssn_shows_only_the_last_four(value: str) -> None:
    assert mask("ssn", value, "ssn") == "***-**-" + value[-4:]


@given(st.emails())
def test_email_shows_first_character_and_domain_only(value: str) -> None:
    out = mask("email", value, "email")
    local, _, domain = value.rpartition("@")
    assert out == (local[0] if len(local) > 1 else "") + "***@" + domain


@given(st.dates())
def test_year_shows_only_the_year(value: dt.date) -> None:
    out = mask("year", value, "date")
    assert out == f"{value.year:04d}-**-**"


@given(st.datetimes(timezones=st.none() | st.just(dt.UTC)))
def test_year_of_datetimes_shows_only_the_year(value: dt.datetime) -> None:
    out = mask("year", value, "datetime")
    assert out[:4] == f"{value.year:04d}"
    assert not any(c.isdigit() for c in out[4:])
