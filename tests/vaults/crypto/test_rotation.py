"""Re-encryption as a pure step: idempotent, and never loses a value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaults.crypto import rotation
from vaults.crypto.envelope import ColumnAad, DataKeyMaterial, key_version_of_text, open_text, seal_text
from vaults.crypto.errors import CiphertextIntegrityError
from vaults.crypto.rotation import needs_reencryption, reencrypt_record

KEYS = {version: DataKeyMaterial(version, bytes([version]) * 32) for version in (1, 2, 3)}
COLUMNS = ("email", "ssn", "notes")


def stored_record(values: dict[str, bytes | None], *, version: int, record_id: str = "r1") -> dict[str, Any]:
    data: dict[str, Any] = {"region": "EU"}  # a plain column
    for column, value in values.items():
        aad = ColumnAad(vault_id="v", table="persons", column=column).for_record(record_id)
        data[column] = None if value is None else seal_text(KEYS[version], value, aad=aad)
    return data


def read(data: dict[str, Any], column: str, record_id: str = "r1") -> bytes:
    aad = ColumnAad(vault_id="v", table="persons", column=column).for_record(record_id)
    return open_text(KEYS[key_version_of_text(data[column])], data[column], aad=aad)


def rotate(data: dict[str, Any], new_version: int, record_id: str = "r1") -> dict[str, object]:
    return reencrypt_record(
        data,
        vault_id="v",
        table="persons",
        record_id=record_id,
        columns=COLUMNS,
        key_for_version=KEYS.__getitem__,
        new_key=KEYS[new_version],
    )


@given(email=st.binary(), ssn=st.binary(max_size=20))
def test_rotation_keeps_every_value(email: bytes, ssn: bytes) -> None:
    before = stored_record({"email": email, "ssn": ssn, "notes": None}, version=1)
    after = rotate(before, 2)
    assert key_version_of_text(str(after["email"])) == 2 and key_version_of_text(str(after["ssn"])) == 2
    assert read(dict(after), "email") == email and read(dict(after), "ssn") == ssn
    assert after["notes"] is None and after["region"] == "EU"
    assert before["email"] != after["email"]  # the input is not changed in place


def test_rotation_is_idempotent() -> None:
    data = stored_record({"email": b"a@x.org", "ssn": b"123"}, version=1)
    once = rotate(data, 2)
    assert rotate(dict(once), 2) == once
    assert not needs_reencryption(once, columns=COLUMNS, new_version=2)


def test_mixed_versions_after_a_crash_mid_record() -> None:
    # A record half-written under v2, half still v1 (e.g. a rotation from v1 to v2 crashed and v3 started).
    data = stored_record({"email": b"a@x.org"}, version=1)
    data.update({k: v for k, v in stored_record({"ssn": b"123"}, version=2).items() if k == "ssn"})
    assert needs_reencryption(data, columns=COLUMNS, new_version=2)
    after = rotate(data, 3)
    assert read(dict(after), "email") == b"a@x.org" and read(dict(after), "ssn") == b"123"
    partial = rotate(data, 2)
    assert partial["ssn"] == data["ssn"]  # already under v2: untouched


def test_needs_reencryption() -> None:
    data = stored_record({"email": b"a"}, version=1)
    assert needs_reencryption(data, columns=COLUMNS, new_version=2)
    assert not needs_reencryption(data, columns=COLUMNS, new_version=1)
    assert needs_reencryption({"email": 5}, columns=COLUMNS, new_version=1)
    assert not needs_reencryption({}, columns=COLUMNS, new_version=1)


def test_a_value_that_does_not_open_stops_the_step() -> None:
    moved = stored_record({"email": b"a"}, version=1, record_id="other")
    with pytest.raises(CiphertextIntegrityError, match="persons.email of record r1"):
        rotate(moved, 2)
    with pytest.raises(CiphertextIntegrityError, match="holds a plain int"):
        rotate({"email": 5}, 2)


def test_a_reseal_that_does_not_round_trip_is_never_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    real_seal = rotation.seal_text

    def corrupt_seal(key: DataKeyMaterial, plaintext: bytes, **kwargs: Any) -> str:
        return real_seal(key, plaintext + b"!", **kwargs)

    monkeypatch.setattr(rotation, "seal_text", corrupt_seal)
    with pytest.raises(CiphertextIntegrityError, match="did not round-trip"):
        rotate(stored_record({"email": b"a"}, version=1), 2)
