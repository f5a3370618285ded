"""A vault's keys in the database, and in use: wrapped rows in ``vaults.DataKey``, unwrapped through
the process's keyring (``vaults.crypto.config.get_keyring``), which caches each key once."""

from __future__ import annotations

import base64

from vaultstudio.errors import Conflict
from vaultstudio.versioned import VersionedMemo

from .crypto.blind_index import IndexKey
from .crypto.config import get_keyring
from .crypto.envelope import Aad, ColumnAad, DataKeyMaterial
from .crypto.keyring import StoredDataKey, StoredIndexKey
from .models import DataKey, Vault

DATA, INDEX = "data", "index"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def vault_keys_create(vault: Vault) -> None:
    """Give a new vault its first data key (version 1) and its blind-index secret, wrapped by the KEK.

    Runs in the caller's transaction (vault creation); the plaintext keys are dropped at once.
    """
    keyring = get_keyring()
    vault_id = str(vault.id)
    data = keyring.generate_data_key(vault_id=vault_id, version=1)
    index = keyring.generate_index_key(vault_id=vault_id)
    DataKey.objects.bulk_create(
        [
            DataKey(vault=vault, purpose=DATA, version=1, wrapped_key=_b64(data.wrapped), kek_id=data.kek_id),
            DataKey(vault=vault, purpose=INDEX, version=0, wrapped_key=_b64(index.wrapped), kek_id=index.kek_id),
        ]
    )


def _stored_data(row: DataKey) -> StoredDataKey:
    return StoredDataKey(str(row.vault_id), row.version, row.kek_id, base64.b64decode(row.wrapped_key))


def key_rows(vault: Vault) -> list[DataKey]:
    """Every key row of the vault, in one query (a request reads them once and passes them on)."""
    return list(DataKey.objects.filter(vault=vault))


_current_rows: VersionedMemo[list[DataKey]] = VersionedMemo()


def key_rows_current(vault: Vault, version: int) -> list[DataKey]:
    """``key_rows``, read once per process while the shared version stays ``version``: rotation,
    retirement and KEK re-wrapping bump it (``vaults.rotation``). Shared between requests: read only."""
    return _current_rows.get(vault.pk, version, lambda: key_rows(vault))


def active_data_key(vault: Vault, rows: list[DataKey] | None = None) -> DataKeyMaterial:
    """The key new values are sealed with: the newest data key not retired."""
    active = [r for r in (key_rows(vault) if rows is None else rows) if r.purpose == DATA and r.retired_at is None]
    row = max(active, key=lambda r: r.version) if active else None
    if row is None:
        raise Conflict(f"Vault {vault.name} has no active data key; rotate its keys to create one.")
    return get_keyring().data_key(_stored_data(row))


def data_keys(vault: Vault, rows: list[DataKey] | None = None) -> dict[int, DataKeyMaterial]:
    """Every data key of the vault by version (retired ones still open old values until re-encrypted)."""
    keyring = get_keyring()
    return {
        row.version: keyring.data_key(_stored_data(row))
        for row in (key_rows(vault) if rows is None else rows)
        if row.purpose == DATA
    }


def index_key(vault: Vault, rows: list[DataKey] | None = None) -> IndexKey:
    row = next(r for r in (key_rows(vault) if rows is None else rows) if r.purpose == INDEX)
    return get_keyring().index_key(StoredIndexKey(str(vault.id), row.kek_id, base64.b64decode(row.wrapped_key)))


def token_value_aad(vault_id: str, column_group: str, token: str) -> Aad:
    """Where a token's own sealed value is bound: the vault, the token's column group and the token
    (values of tokens from the tokenize endpoint, and of deterministic tokens, live on the token)."""
    return ColumnAad(vault_id=vault_id, table="__tokens__", column=column_group).for_record(token)
