"""Re-encryption under a new data key version, as a pure step per record.

The resumable batch job (later, in the services) selects records whose ciphertexts still name an
older version, calls ``reencrypt_record`` on each, and writes the result back in the same
transaction as its progress marker. The step is idempotent: a value already under the new version
is left as it is, so a batch replayed after a crash changes nothing twice. KEK rotation is
``Keyring.rewrap_data_key``/``rewrap_index_key`` on each stored key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from vaults.crypto.envelope import ColumnAad, DataKeyMaterial, key_version_of_text, open_text, seal_text
from vaults.crypto.errors import CiphertextIntegrityError


def needs_reencryption(data: Mapping[str, object], *, columns: Iterable[str], new_version: int) -> bool:
    """Whether any encrypted column of the record is not sealed under ``new_version``.

    True also for a non-text value in an encrypted column, so the job reaches it and reports it.
    """
    return any(
        (value := data.get(column)) is not None
        and (not isinstance(value, str) or key_version_of_text(value) != new_version)
        for column in columns
    )


def reencrypt_record(
    data: Mapping[str, object],
    *,
    vault_id: str,
    table: str,
    record_id: str,
    columns: Iterable[str],
    key_for_version: Callable[[int], DataKeyMaterial],
    new_key: DataKeyMaterial,
) -> dict[str, object]:
    """A copy of the record's stored map with each encrypted column sealed under ``new_key``.

    ``columns`` are the table's encrypted columns; other entries, absent columns and nulls are copied
    unchanged, and so are values already under ``new_key.version``. ``key_for_version`` returns the
    data key of an older version (the keyring, fed from ``vaults.DataKey``). Raises
    ``CiphertextIntegrityError`` naming the column if a stored value does not open: the job must
    report it, never write over it.
    """
    result = dict(data)
    for column in columns:
        stored = data.get(column)
        if stored is None:
            continue
        if not isinstance(stored, str):
            raise CiphertextIntegrityError(
                f"Column {table}.{column} of record {record_id} is encrypted but holds a plain "
                f"{type(stored).__name__}: it was written around vaults.crypto."
            )
        version = key_version_of_text(stored)
        if version == new_key.version:
            continue
        aad = ColumnAad(vault_id=vault_id, table=table, column=column).for_record(record_id)
        plaintext = open_text(key_for_version(version), stored, aad=aad)
        resealed = seal_text(new_key, plaintext, aad=aad)
        # The old ciphertext is about to be overwritten: prove the new one opens to the same bytes first,
        # so no fault between here and the database can turn a readable value into a lost one.
        if open_text(new_key, resealed, aad=aad) != plaintext:
            raise CiphertextIntegrityError(f"Re-encrypting {table}.{column} of record {record_id} did not round-trip.")
        result[column] = resealed
    return result
