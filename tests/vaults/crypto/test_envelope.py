"""Envelope encryption: round trips, AAD binding to (vault, table, column, record, key version), tamper detection."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaults.crypto.envelope import (
    TEXT_PREFIX,
    Aad,
    ColumnAad,
    DataKeyMaterial,
    from_text,
    is_sealed_text,
    key_version_of,
    key_version_of_text,
    open_,
    open_text,
    seal,
    seal_text,
    to_text,
)
from vaults.crypto.errors import CiphertextFormatError, CiphertextIntegrityError

KEY_1 = DataKeyMaterial(1, b"\x01" * 32)
KEY_2 = DataKeyMaterial(2, b"\x02" * 32)
AAD = Aad(vault_id="vault-a", table="persons", column="email", record_id="rec-1")

names = st.text(max_size=40)


@given(plaintext=st.binary(max_size=2048))
def test_binary_round_trip(plaintext: bytes) -> None:
    assert open_(KEY_1, seal(KEY_1, plaintext, aad=AAD), aad=AAD) == plaintext


@given(value=st.text(max_size=500), vault=names, table=names, column=names, record=names)
def test_text_round_trip_any_names(value: str, vault: str, table: str, column: str, record: str) -> None:
    aad = Aad(vault_id=vault, table=table, column=column, record_id=record)
    text = seal_text(KEY_2, value.encode(), aad=aad)
    assert text.startswith(TEXT_PREFIX) and is_sealed_text(text)
    assert text.isascii() and "=" not in text
    assert open_text(KEY_2, text, aad=aad).decode() == value
    assert key_version_of_text(text) == 2
    assert from_text(to_text(from_text(text))) == from_text(text)


def test_nonces_are_fresh() -> None:
    assert seal(KEY_1, b"same", aad=AAD) != seal(KEY_1, b"same", aad=AAD)


def test_format_layout() -> None:
    sealed = seal(KEY_2, b"abc", aad=AAD)
    assert sealed[0] == 1
    assert sealed[1:5] == (2).to_bytes(4, "big")
    assert len(sealed) == 5 + 12 + 3 + 16
    assert key_version_of(sealed) == 2


@pytest.mark.parametrize(
    "moved_to",
    [
        Aad(vault_id="vault-b", table="persons", column="email", record_id="rec-1"),
        Aad(vault_id="vault-a", table="people", column="email", record_id="rec-1"),
        Aad(vault_id="vault-a", table="persons", column="phone", record_id="rec-1"),
        Aad(vault_id="vault-a", table="persons", column="email", record_id="rec-2"),
        # Same concatenation, different split: the encoding is length-prefixed, not naive.
        Aad(vault_id="vault-a", table="personse", column="mail", record_id="rec-1"),
    ],
    ids=["other-vault", "other-table", "other-column", "other-record", "shifted-boundary"],
)
def test_ciphertext_moved_elsewhere_is_an_integrity_error(moved_to: Aad) -> None:
    sealed = seal(KEY_1, b"ann@example.org", aad=AAD)
    with pytest.raises(CiphertextIntegrityError, match="does not authenticate"):
        open_(KEY_1, sealed, aad=moved_to)


def test_swapping_two_rows_fails_both_ways() -> None:
    row_1 = Aad(vault_id="v", table="t", column="ssn", record_id="1")
    row_2 = Aad(vault_id="v", table="t", column="ssn", record_id="2")
    stored_1, stored_2 = seal_text(KEY_1, b"111", aad=row_1), seal_text(KEY_1, b"222", aad=row_2)
    with pytest.raises(CiphertextIntegrityError):
        open_text(KEY_1, stored_2, aad=row_1)
    with pytest.raises(CiphertextIntegrityError):
        open_text(KEY_1, stored_1, aad=row_2)


def test_other_key_version_is_refused_before_decrypting() -> None:
    sealed = seal(KEY_1, b"x", aad=AAD)
    with pytest.raises(CiphertextIntegrityError, match="version 1, but version 2"):
        open_(KEY_2, sealed, aad=AAD)


def test_relabelled_key_version_is_an_integrity_error() -> None:
    sealed = bytearray(seal(KEY_1, b"x", aad=AAD))
    sealed[1:5] = (2).to_bytes(4, "big")
    # Even a key that happens to be the same bytes under the claimed version does not open it.
    same_bytes_v2 = DataKeyMaterial(2, b"\x01" * 32)
    with pytest.raises(CiphertextIntegrityError, match="does not authenticate"):
        open_(same_bytes_v2, bytes(sealed), aad=AAD)


def test_wrong_key_same_version_fails() -> None:
    other = DataKeyMaterial(1, os.urandom(32))
    with pytest.raises(CiphertextIntegrityError):
        open_(other, seal(KEY_1, b"x", aad=AAD), aad=AAD)


def test_tampering_any_byte_fails() -> None:
    sealed = seal(KEY_1, b"0123456789", aad=AAD)
    for index in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[index] ^= 0x01
        with pytest.raises(CiphertextIntegrityError):
            open_(KEY_1, bytes(tampered), aad=AAD)


def test_tampering_any_text_character_fails() -> None:
    text = seal_text(KEY_1, b"0123456789", aad=AAD)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index in range(len(TEXT_PREFIX), len(text)):
        for replacement in alphabet:
            if replacement == text[index]:
                continue
            tampered = text[:index] + replacement + text[index + 1 :]
            with pytest.raises(CiphertextIntegrityError):
                open_text(KEY_1, tampered, aad=AAD)


@pytest.mark.parametrize(
    "text",
    [
        "plain value",
        "v2:AQAAAAE",
        "v1:é",
        "v1:A",  # a 1-character final group is never valid base64
        "v1:AQAAAAE+",
        "v1:AQAAAAE/",
        "v1:AQAAAAE=",
        "v1:AQAAAAE!",
        "v1:AB",  # 2-character group with non-zero unused bits
        "v1:ABD",  # 3-character group with non-zero unused bits
    ],
)
def test_non_canonical_text_is_a_format_error(text: str) -> None:
    with pytest.raises(CiphertextFormatError):
        from_text(text)


@pytest.mark.parametrize("sealed", [b"", b"\x01\x00\x00\x00\x01" + b"\x00" * 27, b"\x02" + b"\x00" * 40])
def test_short_or_foreign_binary_is_a_format_error(sealed: bytes) -> None:
    with pytest.raises(CiphertextFormatError):
        open_(KEY_1, sealed, aad=AAD)
    with pytest.raises(CiphertextFormatError):
        key_version_of(sealed)


@pytest.mark.parametrize("text", ["v1:", "v1:AQAA", "v1:AgAAAAEAAAA"])
def test_key_version_of_text_needs_a_v1_header(text: str) -> None:
    with pytest.raises(CiphertextFormatError):
        key_version_of_text(text)


def test_is_sealed_text() -> None:
    assert not is_sealed_text(None)
    assert not is_sealed_text(b"v1:abc")
    assert not is_sealed_text("ann@example.org")


def test_column_aad_matches_full_aad() -> None:
    column = ColumnAad(vault_id="vault-a", table="persons", column="email")
    built = column.for_record("rec-1")
    assert built == AAD and hash(built) == hash(AAD)
    assert (built.vault_id, built.table, built.column, built.record_id) == ("vault-a", "persons", "email", "rec-1")
    assert open_(KEY_1, seal(KEY_1, b"x", aad=built), aad=AAD) == b"x"
    assert AAD != "not an aad"
    assert repr(column) == "ColumnAad(vault_id='vault-a', table='persons', column='email')"
    assert repr(AAD) == "Aad(vault_id='vault-a', table='persons', column='email', record_id='rec-1')"


def test_data_key_material_validates_and_hides_the_key() -> None:
    key = DataKeyMaterial(7, b"\xaa" * 32)
    assert repr(key) == "DataKeyMaterial(version=7)"
    assert not hasattr(key, "__dict__")
    with pytest.raises(ValueError, match="between 1 and"):
        DataKeyMaterial(0, b"\x00" * 32)
    with pytest.raises(ValueError, match="between 1 and"):
        DataKeyMaterial(2**32, b"\x00" * 32)
    with pytest.raises(ValueError, match="32 bytes, not 16"):
        DataKeyMaterial(1, b"\x00" * 16)


def test_errors_never_carry_the_plaintext() -> None:
    secret = b"123-45-6789"
    sealed = seal(KEY_1, secret, aad=AAD)
    with pytest.raises(CiphertextIntegrityError) as info:
        open_(KEY_1, sealed, aad=Aad(vault_id="x", table="t", column="c", record_id="r"))
    assert secret.decode() not in str(info.value)
