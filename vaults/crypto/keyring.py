"""Per-vault keys: generation, wrapping, and a bounded, thread-safe cache of unwrapped keys.

A vault has versioned data keys (one active for writes; older ones kept until re-encryption retires
them) and one index secret for its blind indexes, each stored wrapped by a KEK. The keyring unwraps
each once per process and keeps the prepared result for at most ``max_age`` seconds, in at most
``max_entries`` slots (least recently used leaves first). It never reads the database: the caller
passes the wrapped key and KEK id it loaded (``vaults.DataKey``).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from vaults.crypto.blind_index import IndexKey
from vaults.crypto.envelope import KEY_SIZE, DataKeyMaterial
from vaults.crypto.providers import KeyProvider, WrappedKey

DEFAULT_MAX_ENTRIES: Final = 1024
DEFAULT_MAX_AGE: Final = 300.0
_DATA: Final = "data"
_INDEX: Final = "index"


def data_key_purpose(vault_id: str, version: int) -> str:
    """The purpose a vault's data key of ``version`` is wrapped for (binds the wrapped key to its row)."""
    return f"vaultstudio/data-key/{vault_id}/{version}"


def index_key_purpose(vault_id: str) -> str:
    """The purpose a vault's index secret is wrapped for (never interchangeable with a data key)."""
    return f"vaultstudio/index-key/{vault_id}"


@dataclass(frozen=True, slots=True)
class StoredDataKey:
    """A data key as stored: what ``vaults.DataKey`` holds, minus the dates."""

    vault_id: str
    version: int
    kek_id: str
    wrapped: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class StoredIndexKey:
    """A vault's index secret as stored, wrapped."""

    vault_id: str
    kek_id: str
    wrapped: bytes = field(repr=False)


class GeneratedKey(NamedTuple):
    """A fresh key: the plaintext to use now, and the wrapped form and KEK id to store."""

    plaintext: bytes
    wrapped: bytes
    kek_id: str

    def __repr__(self) -> str:
        return f"GeneratedKey(kek_id={self.kek_id!r})"


class _Entry(NamedTuple):
    kek_id: str
    wrapped: bytes
    loaded_at: float
    value: DataKeyMaterial | IndexKey


class Keyring:
    """Wraps new keys through a ``KeyProvider`` and caches unwrapped ones per (vault, version)."""

    def __init__(
        self,
        provider: KeyProvider,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"The key cache needs at least one entry (max_entries={max_entries}).")
        if max_age <= 0:
            raise ValueError(f"The key cache's max age must be positive seconds (max_age={max_age}).")
        self.provider = provider
        self.max_entries = max_entries
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str, int], _Entry] = OrderedDict()

    def __repr__(self) -> str:
        return f"Keyring(provider={self.provider!r}, cached={len(self)}, max_entries={self.max_entries})"

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    # --- new keys -------------------------------------------------------------------------------------
    def generate_data_key(self, *, vault_id: str, version: int) -> GeneratedKey:
        """A new random data key for ``version`` of the vault, wrapped under the active KEK."""
        plaintext = os.urandom(KEY_SIZE)
        kek_id, wrapped = self.provider.wrap(plaintext, purpose=data_key_purpose(vault_id, version))
        return GeneratedKey(plaintext, wrapped, kek_id)

    def generate_index_key(self, *, vault_id: str) -> GeneratedKey:
        """A new random index secret for the vault, wrapped under the active KEK."""
        plaintext = os.urandom(KEY_SIZE)
        kek_id, wrapped = self.provider.wrap(plaintext, purpose=index_key_purpose(vault_id))
        return GeneratedKey(plaintext, wrapped, kek_id)

    # --- stored keys ----------------------------------------------------------------------------------
    def data_key(self, stored: StoredDataKey) -> DataKeyMaterial:
        """The unwrapped data key, from the cache or unwrapped once through the provider."""
        value = self._cached((_DATA, stored.vault_id, stored.version), stored.kek_id, stored.wrapped)
        if value is None:
            plaintext = self.provider.unwrap(
                stored.kek_id, stored.wrapped, purpose=data_key_purpose(stored.vault_id, stored.version)
            )
            value = DataKeyMaterial(stored.version, plaintext)
            self._store((_DATA, stored.vault_id, stored.version), stored.kek_id, stored.wrapped, value)
        assert isinstance(value, DataKeyMaterial)
        return value

    def index_key(self, stored: StoredIndexKey) -> IndexKey:
        """The vault's blind-index key, from the cache or unwrapped once through the provider."""
        value = self._cached((_INDEX, stored.vault_id, 0), stored.kek_id, stored.wrapped)
        if value is None:
            secret = self.provider.unwrap(stored.kek_id, stored.wrapped, purpose=index_key_purpose(stored.vault_id))
            value = IndexKey.derive(secret, vault_id=stored.vault_id)
            self._store((_INDEX, stored.vault_id, 0), stored.kek_id, stored.wrapped, value)
        assert isinstance(value, IndexKey)
        return value

    # --- KEK rotation ---------------------------------------------------------------------------------
    def rewrap_data_key(self, stored: StoredDataKey) -> WrappedKey:
        """The data key re-wrapped under the active KEK (store it in place of the old wrapped key)."""
        return self.provider.rewrap(
            stored.kek_id, stored.wrapped, purpose=data_key_purpose(stored.vault_id, stored.version)
        )

    def rewrap_index_key(self, stored: StoredIndexKey) -> WrappedKey:
        """The index secret re-wrapped under the active KEK."""
        return self.provider.rewrap(stored.kek_id, stored.wrapped, purpose=index_key_purpose(stored.vault_id))

    # --- the cache ------------------------------------------------------------------------------------
    def _cached(self, key: tuple[str, str, int], kek_id: str, wrapped: bytes) -> DataKeyMaterial | IndexKey | None:
        now = self._clock()
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            # A different wrapped key under the same (vault, version) means the stored row changed
            # (KEK rotation, or a key generated again after a rolled-back transaction): the cached
            # key may not be the stored one, so it is dropped and the stored one unwrapped.
            if now - entry.loaded_at >= self.max_age or entry.kek_id != kek_id or entry.wrapped != wrapped:
                del self._cache[key]
                return None
            self._cache.move_to_end(key)
            return entry.value

    def _store(self, key: tuple[str, str, int], kek_id: str, wrapped: bytes, value: DataKeyMaterial | IndexKey) -> None:
        now = self._clock()
        with self._lock:
            self._cache[key] = _Entry(kek_id, wrapped, now, value)
            self._cache.move_to_end(key)
            for stale in [k for k, e in self._cache.items() if now - e.loaded_at >= self.max_age]:
                del self._cache[stale]
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)

    def forget_vault(self, vault_id: str) -> None:
        """Drop every cached key of one vault (after its keys change or it is deleted)."""
        with self._lock:
            for key in [k for k in self._cache if k[1] == vault_id]:
                del self._cache[key]

    def clear(self) -> None:
        """Drop every cached key."""
        with self._lock:
            self._cache.clear()
