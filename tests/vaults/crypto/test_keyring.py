"""The keyring: key generation, unwrap-once caching bounded by entries and age, KEK rotation."""

from __future__ import annotations

import threading

import pytest

from vaults.crypto.blind_index import IndexKey, blind_index
from vaults.crypto.envelope import Aad, DataKeyMaterial, open_, seal
from vaults.crypto.errors import KeyUnwrapError
from vaults.crypto.keyring import (
    Keyring,
    StoredDataKey,
    StoredIndexKey,
    data_key_purpose,
    index_key_purpose,
)
from vaults.crypto.providers import LocalKeyProvider, WrappedKey

AAD = Aad(vault_id="v1", table="t", column="c", record_id="r")


class CountingProvider(LocalKeyProvider):
    """A local provider that counts unwraps, to prove the cache saves them."""

    __slots__ = ("unwraps",)

    def __init__(self) -> None:
        super().__init__({"a": b"\x0a" * 32, "b": b"\x0b" * 32}, active="a")
        self.unwraps = 0

    def unwrap(self, kek_id: str, wrapped: bytes, *, purpose: str) -> bytes:
        self.unwraps += 1
        return super().unwrap(kek_id, wrapped, purpose=purpose)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stored_key(keyring: Keyring, vault_id: str = "v1", version: int = 1) -> tuple[bytes, StoredDataKey]:
    plaintext, wrapped, kek_id = keyring.generate_data_key(vault_id=vault_id, version=version)
    return plaintext, StoredDataKey(vault_id, version, kek_id, wrapped)


def test_generated_key_opens_what_the_stored_key_sealed() -> None:
    keyring = Keyring(CountingProvider())
    plaintext, stored = stored_key(keyring)
    assert len(plaintext) == 32 and stored.kek_id == "a"
    sealed = seal(DataKeyMaterial(1, plaintext), b"value", aad=AAD)
    assert open_(keyring.data_key(stored), sealed, aad=AAD) == b"value"


def test_each_key_is_unwrapped_once() -> None:
    provider = CountingProvider()
    keyring = Keyring(provider)
    _, stored = stored_key(keyring)
    first = keyring.data_key(stored)
    assert all(keyring.data_key(stored) is first for _ in range(100))
    assert provider.unwraps == 1 and len(keyring) == 1


def test_cache_bound_evicts_least_recently_used() -> None:
    provider = CountingProvider()
    keyring = Keyring(provider, max_entries=2)
    keys = [stored_key(keyring, version=v)[1] for v in (1, 2, 3)]
    keyring.data_key(keys[0])
    keyring.data_key(keys[1])
    keyring.data_key(keys[0])  # 0 is now the most recent
    keyring.data_key(keys[2])  # evicts 1
    assert len(keyring) == 2 and provider.unwraps == 3
    keyring.data_key(keys[0])
    assert provider.unwraps == 3
    keyring.data_key(keys[1])
    assert provider.unwraps == 4


def test_cache_entries_expire() -> None:
    provider, clock = CountingProvider(), Clock()
    keyring = Keyring(provider, max_age=60, clock=clock)
    _, v1 = stored_key(keyring, version=1)
    _, v2 = stored_key(keyring, version=2)
    keyring.data_key(v1)
    clock.now += 59
    keyring.data_key(v1)
    assert provider.unwraps == 1
    clock.now += 1
    keyring.data_key(v1)  # expired on read: unwrapped again
    assert provider.unwraps == 2
    clock.now += 61
    keyring.data_key(v2)  # storing sweeps the expired entry of v1 away
    assert len(keyring) == 1


def test_changed_wrapped_key_is_not_served_from_the_cache() -> None:
    provider = CountingProvider()
    keyring = Keyring(provider)
    plaintext_1, first = stored_key(keyring)
    plaintext_2, again = stored_key(keyring)  # same (vault, version), generated again after a rollback
    keyring.data_key(first)
    sealed = seal(DataKeyMaterial(1, plaintext_2), b"x", aad=AAD)
    assert open_(keyring.data_key(again), sealed, aad=AAD) == b"x"
    assert provider.unwraps == 2 and plaintext_1 != plaintext_2


def test_clear_and_forget_vault() -> None:
    keyring = Keyring(CountingProvider())
    for vault_id in ("v1", "v2"):
        keyring.data_key(stored_key(keyring, vault_id=vault_id)[1])
    keyring.forget_vault("v1")
    assert len(keyring) == 1
    keyring.clear()
    assert len(keyring) == 0


def test_cache_is_thread_safe() -> None:
    keyring = Keyring(CountingProvider(), max_entries=8)
    keys = [stored_key(keyring, version=v)[1] for v in range(1, 21)]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                for key in keys:
                    assert keyring.data_key(key).version == key.version
        except BaseException as exc:  # pragma: no cover - only on failure
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(keyring) <= 8


def test_wrapped_keys_are_bound_to_vault_and_version() -> None:
    keyring = Keyring(CountingProvider())
    _, stored = stored_key(keyring, vault_id="v1", version=1)
    for moved in (
        StoredDataKey("v2", 1, stored.kek_id, stored.wrapped),
        StoredDataKey("v1", 2, stored.kek_id, stored.wrapped),
    ):
        with pytest.raises(KeyUnwrapError):
            keyring.data_key(moved)
    # An index secret is never usable as a data key, nor the other way round.
    _, wrapped, kek_id = keyring.generate_index_key(vault_id="v1")
    with pytest.raises(KeyUnwrapError):
        keyring.data_key(StoredDataKey("v1", 1, kek_id, wrapped))
    with pytest.raises(KeyUnwrapError):
        keyring.index_key(StoredIndexKey("v1", stored.kek_id, stored.wrapped))
    assert data_key_purpose("v1", 1) != index_key_purpose("v1")


def test_index_key_is_cached_and_derived_from_the_secret() -> None:
    provider = CountingProvider()
    keyring = Keyring(provider)
    secret, wrapped, kek_id = keyring.generate_index_key(vault_id="v1")
    stored = StoredIndexKey("v1", kek_id, wrapped)
    index_key = keyring.index_key(stored)
    assert keyring.index_key(stored) is index_key and provider.unwraps == 1
    expected = IndexKey.derive(secret, vault_id="v1")
    digest = blind_index(index_key, table="t", column="c", data_type="string", value="x")
    assert digest == blind_index(expected, table="t", column="c", data_type="string", value="x")


def test_kek_rotation_rewraps_and_old_keys_still_open() -> None:
    keyring = Keyring(LocalKeyProvider({"a": b"\x0a" * 32}, active="a"))
    _, old = stored_key(keyring)
    _, index_wrapped, index_kek = keyring.generate_index_key(vault_id="v1")
    old_index = StoredIndexKey("v1", index_kek, index_wrapped)
    sealed = seal(keyring.data_key(old), b"kept", aad=AAD)
    digest = blind_index(keyring.index_key(old_index), table="t", column="c", data_type="string", value="x")

    rotated = Keyring(LocalKeyProvider({"a": b"\x0a" * 32, "b": b"\x0b" * 32}, active="b"))
    assert open_(rotated.data_key(old), sealed, aad=AAD) == b"kept"  # old wrapping still opens
    kek_id, wrapped = rotated.rewrap_data_key(old)
    index_kek, index_wrapped = rotated.rewrap_index_key(old_index)
    assert kek_id == index_kek == "b"
    new = StoredDataKey("v1", 1, kek_id, wrapped)
    new_index = StoredIndexKey("v1", index_kek, index_wrapped)

    retired = Keyring(LocalKeyProvider({"b": b"\x0b" * 32}, active="b"))
    assert open_(retired.data_key(new), sealed, aad=AAD) == b"kept"
    assert blind_index(retired.index_key(new_index), table="t", column="c", data_type="string", value="x") == digest
    assert rotated.rewrap_data_key(new) == WrappedKey("b", wrapped)


def test_validation_and_reprs_hide_keys() -> None:
    provider = CountingProvider()
    with pytest.raises(ValueError, match="at least one entry"):
        Keyring(provider, max_entries=0)
    with pytest.raises(ValueError, match="positive seconds"):
        Keyring(provider, max_age=0)
    keyring = Keyring(provider)
    generated = keyring.generate_data_key(vault_id="v1", version=1)
    assert repr(generated) == "GeneratedKey(kek_id='a')"
    stored = StoredDataKey("v1", 1, generated.kek_id, generated.wrapped)
    assert generated.wrapped.hex() not in repr(stored) and "wrapped" not in repr(stored)
    assert "wrapped" not in repr(StoredIndexKey("v1", "a", b"w"))
    assert repr(keyring).startswith("Keyring(provider=LocalKeyProvider(") and "cached=0" in repr(keyring)
