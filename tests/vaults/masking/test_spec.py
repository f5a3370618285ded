"""Masking specs: validation messages at schema-save time, and regex find/replace masking."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaults.masking import (
    FULL_MASK,
    MAX_INPUT_LENGTH,
    MAX_PATTERN_LENGTH,
    MAX_TEMPLATE_LENGTH,
    MaskingSpecError,
    compile_masking,
    validate_masking,
)

PRESET_LIST = "full, last4, first6_last4, email, ssn, phone, initial, year"


@pytest.mark.parametrize(
    "spec",
    [
        None,
        {"preset": "full"},
        {"preset": "last4"},
        {"find": r"(\d{3})-(\d{2})-(\d{4})", "replace": "###-##-${3}"},
        {"find": r"(.*)(\d{4})", "replace": "****${2}"},
        {"find": r"([^@])[^@]*(@.*)", "replace": "${1}***${2}"},
        {"find": r"(?:\d{3}-){2}\d{4}", "replace": "redacted $$"},
        {"find": r"(?>a*)b", "replace": "${0}"},
        {"find": r"(?=a)(a|b)c", "replace": "${1}"},
        {"find": r"(ab|cd|ef)x?", "replace": "${1}"},
        {"find": r"(.*)(.*)x", "replace": "${1}"},
    ],
)
def test_valid_specs(spec: object) -> None:
    assert validate_masking(spec) == []
    compile_masking(spec)


@pytest.mark.parametrize(
    ("spec", "errors"),
    [
        ("last4", ['masking: must be an object, {"preset": name} or {"find": regex, "replace": template}']),
        (
            {"preset": "last5"},
            ["masking.preset: unknown preset 'last5'; use one of " + PRESET_LIST],
        ),
        ({"preset": 4}, ["masking.preset: unknown preset 4; use one of " + PRESET_LIST]),
        ({"preset": "last4", "find": "x"}, ["masking: give either 'preset' or 'find' and 'replace', not both"]),
        (
            {"preset": "last4", "colour": "red"},
            ["masking: unknown key 'colour'; use 'preset', or 'find' and 'replace'"],
        ),
        ({}, ["masking: needs 'preset', or both 'find' and 'replace'"]),
        ({"find": "x"}, ["masking: needs 'preset', or both 'find' and 'replace'"]),
        (
            {"find": "", "replace": 3},
            [
                "masking.find: must be a non-empty string holding a regular expression",
                "masking.replace: must be a string (the output, with ${n} for group n of 'find')",
            ],
        ),
        (
            {"find": "(", "replace": ""},
            ["masking.find: the regular expression does not compile: missing ), unterminated subpattern at position 0"],
        ),
        (
            {"find": "a" * (MAX_PATTERN_LENGTH + 1), "replace": "b" * (MAX_TEMPLATE_LENGTH + 1)},
            [
                f"masking.find: {MAX_PATTERN_LENGTH + 1} characters; at most {MAX_PATTERN_LENGTH} are allowed",
                f"masking.replace: {MAX_TEMPLATE_LENGTH + 1} characters; at most {MAX_TEMPLATE_LENGTH} are allowed",
            ],
        ),
        ({"find": "(a)", "replace": "${2}"}, ["masking.replace: ${2} refers to group 2, but 'find' has 1 group"]),
        ({"find": "a", "replace": "${1}"}, ["masking.replace: ${1} refers to group 1, but 'find' has 0 groups"]),
        (
            {"find": "(a)", "replace": "cost $5"},
            [
                "masking.replace: '$' at position 5 must start a group reference ${n} "
                "or be written '$$' for a literal '$'"
            ],
        ),
        (
            {"find": "(?P<x>a)", "replace": "${x}"},
            [
                "masking.replace: '${x}' is not a group reference; write ${n} with n the number of a group in 'find' "
                "(named references are not supported)"
            ],
        ),
        (
            {"find": "(a)", "replace": "${1234}"},
            [
                "masking.replace: '${1234}' is not a group reference; write ${n} with n the number of a group in "
                "'find' (named references are not supported)"
            ],
        ),
    ],
)
def test_invalid_specs_give_the_documented_errors(spec: object, errors: list[str]) -> None:
    assert validate_masking(spec) == errors
    with pytest.raises(MaskingSpecError) as info:
        compile_masking(spec)
    assert info.value.errors == errors
    assert str(info.value) == "; ".join(errors)


NESTED = (
    "masking.find: a quantifier inside a repeated group (like (a+)+ or (a?){20}) can take exponential time; "
    "inside a repeated group use only fixed counts like \\d{3}"
)
ALTERNATION = (
    "masking.find: an alternation inside a repeated group (like (a|aa)*) can take exponential time; "
    "use a character class like [ab]* where you can"
)
BACKREF = "masking.find: backreferences (\\1, (?P=name), (?(1)...)) are not allowed"
TOO_MANY = (
    "masking.find: too many ways to backtrack: each *, +, ? or {m,n} multiplies the matching time (two of * "
    "or + are the most allowed); make quantifiers fixed ({4}) or bounded ({0,3}) where you can"
)


@pytest.mark.parametrize(
    ("find", "error"),
    [
        (r"(a+)+b", NESTED),
        (r"(a*)*b", NESTED),
        (r"(?:\w+\s?)*", NESTED),
        (r"(a?){25}a{25}", NESTED),
        (r"(?:x(?=a+))+", NESTED),
        (r"(?:(?>a+)b)+", NESTED),
        (r"(a|aa)*c", ALTERNATION),
        (r"(a)\1", BACKREF),
        (r"(?P<x>a)(?P=x)", BACKREF),
        (r"(a)?(?(1)a|b)", BACKREF),
        (r"(.*)(.*)(.*)x", TOO_MANY),
        ("a?" * 25 + "a" * 25, TOO_MANY),
        (r"(?:a{0,200}){1}(?:b{0,200})c{0,200}", TOO_MANY),
    ],
)
def test_patterns_that_can_backtrack_catastrophically_are_refused(find: str, error: str) -> None:
    assert validate_masking({"find": find, "replace": "x"}) == [error]


def test_worst_accepted_pattern_on_worst_input_is_fast() -> None:
    masker = compile_masking({"find": r"(.*)(.*)x?y", "replace": "${1}"})
    start = time.perf_counter()
    assert masker("a" * MAX_INPUT_LENGTH) == FULL_MASK
    assert time.perf_counter() - start < 0.1


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"find": r"(\d{3})-(\d{2})-(\d{4})", "replace": "###-##-${3}"}, "123-45-6789", "###-##-6789"),
        ({"find": r"(\d{3})-(\d{2})-(\d{4})", "replace": "###-##-${3}"}, "x123-45-6789", FULL_MASK),
        ({"find": r"\d{3}-\d{2}-(\d{4})", "replace": "###-##-${1}"}, "123-45-6789 ", FULL_MASK),
        ({"find": r"(.*)(\d{4})", "replace": "****${2}"}, "4111111111111111", "****1111"),
        ({"find": r"([^@])[^@]*(@.*)", "replace": "${1}***${2}"}, "john@example.com", "j***@example.com"),
        ({"find": r"(a)|(b)", "replace": "[${1}|${2}]"}, "b", "[|b]"),  # an unmatched group is ""
        ({"find": r"\d+", "replace": "#${0}# costs $$"}, "42", "#42# costs $"),
        ({"find": r"\d+", "replace": "number"}, "42", "number"),
        ({"find": r"\d+", "replace": "number"}, "forty-two", FULL_MASK),
        ({"find": r"\d+", "replace": "$$$$"}, "1", "$$"),
        ({"find": r".*", "replace": "${0}"}, "é" * MAX_INPUT_LENGTH, "é" * MAX_INPUT_LENGTH),
        ({"find": r".*", "replace": "${0}"}, "é" * (MAX_INPUT_LENGTH + 1), FULL_MASK),
        ({"find": r".*", "replace": "const"}, "x" * (MAX_INPUT_LENGTH + 1), FULL_MASK),
        ({"find": r"(\d)\d*", "replace": "${1}…"}, 98765, "9…"),
        ({"find": r"true|false", "replace": "bool"}, True, "bool"),
        ({"find": r"Jos(é)", "replace": "${1}"}, "Jose\u0301", "é"),  # NFC before matching
    ],
)
def test_regex_masking(spec: dict[str, str], value: object, expected: str) -> None:
    assert compile_masking(spec)(value) == expected


@given(st.text(max_size=40))
def test_regex_output_is_only_what_the_template_builds(value: str) -> None:
    masker = compile_masking({"find": r"(.*)(\d{4})", "replace": "****${2}"})
    out = masker(value)
    assert out == FULL_MASK or (out.startswith("****") and len(out) == 8 and out[4:] == value[-4:])


@pytest.mark.parametrize(
    ("preset", "data_type", "error"),
    [
        (
            "last4",
            "boolean",
            "masking.preset: 'last4' does not apply to data type 'boolean'; for 'boolean' use one of full, "
            "or a find/replace regex",
        ),
        (
            "year",
            "card_number",
            "masking.preset: 'year' does not apply to data type 'card_number'; for 'card_number' use one of full, "
            "last4, first6_last4, or a find/replace regex",
        ),
        (
            "email",
            "json",
            "masking.preset: 'email' does not apply to data type 'json'; for 'json' use one of full, or a "
            "find/replace regex",
        ),
        (
            "last4",
            "blob",
            "masking: unknown data type 'blob'; use one of string, integer, number, boolean, date, datetime, "
            "email, phone, ssn, card_number, json",
        ),
    ],
)
def test_presets_must_suit_the_data_type(preset: str, data_type: str, error: str) -> None:
    assert validate_masking({"preset": preset}, data_type=data_type) == [error]
    with pytest.raises(MaskingSpecError):
        compile_masking({"preset": preset}, data_type)


def test_data_type_is_not_checked_without_one() -> None:
    assert validate_masking({"preset": "year"}) == []
    assert validate_masking({"preset": "year"}, data_type="date") == []
