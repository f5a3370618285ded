"""Token generators: UUID, DETERMINISTIC_UUID, FORMAT_PRESERVING, TRANSIENT, and regeneration."""

from __future__ import annotations

import datetime as dt
import random
import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaults.tokenization import (
    IssuedToken,
    TokenCollisionError,
    Tokenizer,
    deterministic_token,
    format_preserving_token,
    luhn_check_digit,
    luhn_valid,
    normalize_token_value,
    transient_token,
    uuid_token,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
NOW = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)


def test_uuid_tokens_are_uuid4_and_random() -> None:
    tokens = {uuid_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(UUID4.fullmatch(t) and uuid.UUID(t).version == 4 for t in tokens)


def test_uuid_token_with_injected_rng_is_reproducible() -> None:
    assert uuid_token(random.Random(7)) == uuid_token(random.Random(7))


# --- deterministic ------------------------------------------------------------------------------


def test_deterministic_same_value_same_group_same_token() -> None:
    a = deterministic_token(KEY, "cards", "4111111111111111")
    assert a == deterministic_token(KEY, "cards", "4111111111111111")
    assert UUID4.fullmatch(a)


def test_deterministic_differs_by_group_key_and_value() -> None:
    base = deterministic_token(KEY, "cards", "4111111111111111")
    assert deterministic_token(KEY, "other", "4111111111111111") != base
    assert deterministic_token(OTHER_KEY, "cards", "4111111111111111") != base
    assert deterministic_token(KEY, "cards", "4111111111111112") != base


def test_deterministic_group_boundary_is_unambiguous() -> None:
    assert deterministic_token(KEY, "ab", "c") != deterministic_token(KEY, "a", "bc")


def test_deterministic_normalizes_by_data_type() -> None:
    ssn = deterministic_token(KEY, "g", "123-45-6789", data_type="ssn")
    assert ssn == deterministic_token(KEY, "g", " 123456789 ", data_type="ssn")
    assert deterministic_token(KEY, "g", "A@Example.com", data_type="email") == deterministic_token(
        KEY, "g", "a@example.com", data_type="email"
    )
    # Strings are not reshaped: "123-45" and "12345" are different strings.
    assert deterministic_token(KEY, "g", "123-45") != deterministic_token(KEY, "g", "12345")
    # The tokenize endpoint gets "42" for an integer column's 42: one token.
    assert deterministic_token(KEY, "g", 42) == deterministic_token(KEY, "g", "42")


def test_deterministic_needs_a_real_key() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        deterministic_token(b"short", "g", "v")


@pytest.mark.parametrize(
    ("value", "data_type", "text"),
    [
        ("  Jose\u0301 ", None, "José"),
        ("+1 (415) 555-2671", "phone", "+14155552671"),
        ("4111 1111-1111.1111", "card_number", "4111111111111111"),
        ("John@Example.COM", "email", "john@example.com"),
        (dt.date(2020, 1, 2), "date", "2020-01-02"),
        ({"b": 1, "a": [True, None]}, "json", '{"a":[true,null],"b":1}'),
        (1.5, "number", "1.5"),
    ],
)
def test_normalize_token_value(value: object, data_type: str | None, text: str) -> None:
    assert normalize_token_value(value, data_type) == text


# --- format preserving --------------------------------------------------------------------------


def _classes(text: str) -> list[str]:
    return ["d" if c.isdigit() else "U" if c.isupper() else "l" if c.isalpha() else c for c in text]


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30).filter(lambda v: any(c.isalnum() for c in v)))
def test_fpe_keeps_length_and_character_classes(value: str) -> None:
    if not any(c.isdigit() or c.isalpha() for c in value):
        return
    token = format_preserving_token(value)
    assert token != value
    assert len(token) == len(value)
    assert _classes(token) == _classes(value)
    assert all(c.isascii() for c, v in zip(token, value, strict=True) if v.isdigit() or v.isalpha())


def test_fpe_examples() -> None:
    rng = random.Random(3)
    token = format_preserving_token("John Smith-Jones", rng=rng)
    assert re.fullmatch(r"[A-Z][a-z]{3} [A-Z][a-z]{4}-[A-Z][a-z]{4}", token)
    email = format_preserving_token("jose@example.com", data_type="email", rng=rng)
    assert re.fullmatch(r"[a-z]{4}@[a-z]{7}\.[a-z]{3}", email)
    ssn = format_preserving_token("123-45-6789", data_type="ssn", rng=rng)
    assert re.fullmatch(r"\d{3}-\d{2}-\d{4}", ssn) and ssn != "123-45-6789"


def test_fpe_keeps_leading_and_trailing() -> None:
    token = format_preserving_token("AB-1234-CD", keep_leading=2, keep_trailing=1)
    assert token[:3] == "AB-" and token[-1] == "D"
    assert token != "AB-1234-CD"
    assert _classes(token) == _classes("AB-1234-CD")


@pytest.mark.parametrize(
    ("value", "lead", "trail"),
    [("", 0, 0), ("---", 0, 0), ("ab", 1, 1), ("ab", 2, 0), ("ab", 5, 5), ("½", 0, 0)],
)
def test_fpe_refuses_values_that_would_be_their_own_token(value: str, lead: int, trail: int) -> None:
    with pytest.raises(ValueError, match="would be its own token"):
        format_preserving_token(value, keep_leading=lead, keep_trailing=trail)


def test_fpe_refuses_negative_keeps() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        format_preserving_token("abc", keep_leading=-1)


def test_fpe_single_digit_always_differs() -> None:
    rng = random.Random(0)
    assert all(format_preserving_token("7", rng=rng) != "7" for _ in range(200))


card_numbers = st.integers(13, 19).flatmap(
    lambda n: st.text(alphabet="0123456789", min_size=n - 1, max_size=n - 1).map(lambda p: p + luhn_check_digit(p))
)


@given(card_numbers)
def test_fpe_card_keeps_bin_and_last4_and_is_luhn_valid(card: str) -> None:
    token = format_preserving_token(card, data_type="card_number")
    assert token != card
    assert len(token) == len(card) and token.isdigit()
    assert token[:6] == card[:6] and token[-4:] == card[-4:]
    assert luhn_valid(token)


@given(st.text(alphabet="0123456789", min_size=13, max_size=19), st.sampled_from([" ", "-"]))
def test_fpe_card_keeps_separators_and_makes_invalid_input_valid(digits: str, sep: str) -> None:
    card = sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))
    token = format_preserving_token(card, data_type="card_number")
    assert [i for i, c in enumerate(token) if c == sep] == [i for i, c in enumerate(card) if c == sep]
    assert luhn_valid(token) and token != card
    assert token.replace(sep, "")[:6] == digits[:6] and token.replace(sep, "")[-4:] == digits[-4:]


@pytest.mark.parametrize("card", ["411111111111", "41111111111111111111", "4111 1111 1111 111x", "4111/1111/1111/1111"])
def test_fpe_card_refuses_non_card_values(card: str) -> None:
    with pytest.raises(ValueError, match="13-19 digits"):
        format_preserving_token(card, data_type="card_number")


def test_fpe_card_with_only_luhn_valid_value_candidate_still_differs() -> None:
    # 13 digits: 3 middle digits, 2 random and 1 fixing the sum; the loop must skip the value itself.
    rng = random.Random(11)
    card = "4222222222222"
    assert luhn_valid(card)
    tokens = {format_preserving_token(card, data_type="card_number", rng=rng) for _ in range(2000)}
    assert card not in tokens
    assert all(luhn_valid(t) for t in tokens)
    assert len(tokens) == 99  # all 100 Luhn-valid numbers with this BIN and last 4 but the card itself


# --- transient ----------------------------------------------------------------------------------


def test_transient_token_expires_after_ttl() -> None:
    issued = transient_token(ttl_minutes=15, clock=lambda: NOW)
    assert UUID4.fullmatch(issued.token)
    assert issued.expires_at == NOW + dt.timedelta(minutes=15)


def test_transient_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive number of minutes"):
        transient_token(ttl_minutes=0, clock=lambda: NOW)


# --- Tokenizer and regeneration -----------------------------------------------------------------


def test_tokenizer_uuid_regenerates_fresh_candidates() -> None:
    tokenizer = Tokenizer("UUID", max_attempts=3)
    candidates = tokenizer.candidates("v")
    seen = [next(candidates).token for _ in range(3)]
    assert len(set(seen)) == 3 and all(UUID4.fullmatch(t) for t in seen)
    with pytest.raises(TokenCollisionError, match="every one of 3 token candidates is taken"):
        next(candidates)
    assert tokenizer.issue("v").expires_at is None


def test_tokenizer_deterministic_has_one_candidate() -> None:
    tokenizer = Tokenizer("DETERMINISTIC_UUID", key=KEY, column_group="persons.ssn", data_type="ssn")
    assert tokenizer.issue("123-45-6789") == IssuedToken(
        deterministic_token(KEY, "persons.ssn", "123456789", data_type="ssn")
    )
    candidates = tokenizer.candidates("123-45-6789")
    next(candidates)
    with pytest.raises(TokenCollisionError, match="HMAC-SHA256 collision"):
        next(candidates)


def test_tokenizer_format_preserving() -> None:
    rng = random.Random(5)
    tokenizer = Tokenizer("FORMAT_PRESERVING", data_type="card_number", rng=rng)
    first, second = list(zip(range(2), tokenizer.candidates("4111111111111111"), strict=False))
    assert first[1].token != second[1].token
    assert luhn_valid(first[1].token)
    kept = Tokenizer("FORMAT_PRESERVING", keep_leading=1, keep_trailing=1).issue("abcdef").token
    assert kept[0] == "a" and kept[-1] == "f"
    with pytest.raises(ValueError, match="made from a string value"):
        tokenizer.issue(4111111111111111)


def test_tokenizer_format_preserving_exhausts_small_spaces() -> None:
    tokenizer = Tokenizer("FORMAT_PRESERVING", max_attempts=30, rng=random.Random(1))
    seen = set()
    with pytest.raises(TokenCollisionError):
        for issued in tokenizer.candidates("7"):
            seen.add(issued.token)
    assert seen <= set("012345689") and len(seen) > 1


def test_tokenizer_transient_uses_the_clock() -> None:
    times = iter([NOW, NOW + dt.timedelta(minutes=1)])
    tokenizer = Tokenizer("TRANSIENT", token_ttl_minutes=10, clock=lambda: next(times))
    candidates = tokenizer.candidates("v")
    assert next(candidates).expires_at == NOW + dt.timedelta(minutes=10)
    assert next(candidates).expires_at == NOW + dt.timedelta(minutes=11)


def test_tokenizer_transient_default_clock_is_utc_now() -> None:
    issued = Tokenizer("TRANSIENT", token_ttl_minutes=1).issue("v")
    assert issued.expires_at is not None
    remaining = issued.expires_at - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=50) < remaining <= dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "NONE"}, "tokenization: 'NONE' issues no tokens"),
        ({"kind": "nope"}, "tokenization: unknown kind 'nope'"),
        ({"kind": "TRANSIENT"}, "token_ttl_minutes: required for TRANSIENT"),
        ({"kind": "UUID", "token_ttl_minutes": 5}, "only TRANSIENT tokens expire"),
        ({"kind": "DETERMINISTIC_UUID"}, "DETERMINISTIC_UUID needs the vault's key of at least 32 bytes"),
        ({"kind": "DETERMINISTIC_UUID", "key": b"short"}, "needs the vault's key"),
        ({"kind": "FORMAT_PRESERVING", "data_type": "json"}, "FORMAT_PRESERVING does not apply to data type 'json'"),
        ({"kind": "UUID", "max_attempts": 0}, "max_attempts must be at least 1"),
    ],
)
def test_tokenizer_refuses_bad_options(kwargs: dict[str, object], message: str) -> None:
    kind = kwargs.pop("kind")
    with pytest.raises(ValueError, match=re.escape(message)):
        Tokenizer(kind, **kwargs)  # type: ignore[arg-type]


# --- bring your own token ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "token", "says"),
    [
        ("NONE", "t", "not tokenized"),
        ("DETERMINISTIC_UUID", "t", "deterministic"),
        ("UUID", "", "non-empty"),
        ("UUID", 5, "non-empty string"),
        ("UUID", "a\tb", "control characters"),
        ("UUID", "a\u200bb", "control characters"),  # a format character (Cf) hidden in the token
        ("UUID", "x" * 129, "at most 128"),
    ],
)
def test_a_brought_token_is_refused_where_it_cannot_stand(kind, token, says):
    from vaults.tokenization import brought_token_problem

    assert says in (brought_token_problem(kind, token) or "")


@pytest.mark.parametrize("kind", ["UUID", "FORMAT_PRESERVING", "TRANSIENT"])
def test_a_brought_token_is_taken_as_it_is(kind):
    from vaults.tokenization import Tokenizer, brought_token_problem

    assert brought_token_problem(kind, "legacy-0001") is None
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    tokenizer = Tokenizer(
        kind, data_type="string", token_ttl_minutes=5 if kind == "TRANSIENT" else None, clock=lambda: now
    )
    issued = tokenizer.brought("legacy-0001")
    assert issued.token == "legacy-0001"
    # A transient column's brought token expires as its own tokens do.
    assert issued.expires_at == (now + dt.timedelta(minutes=5) if kind == "TRANSIENT" else None)
