"""Envelope encryption of field values: AES-256-GCM under a vault's data key, bound to where the value lives.

Binary format (version 1)::

    0x01 | key version (4 bytes, big-endian) | nonce (12 random bytes) | ciphertext | tag (16 bytes)

Text form, for a JSON column: ``"v1:" + base64url(binary)`` without padding. Exactly one text spells
a given binary (non-canonical base64 is refused), so a stored value cannot be altered unnoticed even
in bits that base64 would ignore.

The associated data is the canonical encoding of (vault id, table, column, record id) followed by
the 5 header bytes, so the key version is authenticated as well: a ciphertext copied to another row,
column, table or vault, or relabelled with another key version, raises ``CiphertextIntegrityError``
and never yields a value. Nonces are random, so one data key must not seal more than 2**32 values
(NIST SP 800-38D §8.3); rotating data keys on a schedule keeps every key far below that.
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Iterable
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaults.crypto.canonical import encode_part, encode_parts
from vaults.crypto.errors import CiphertextFormatError, CiphertextIntegrityError

FORMAT_V1: Final = 1
TEXT_PREFIX: Final = "v1:"
KEY_SIZE: Final = 32
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
HEADER_SIZE: Final = 5
MAX_KEY_VERSION: Final = 0xFFFFFFFF
_MIN_SEALED = HEADER_SIZE + NONCE_SIZE + TAG_SIZE
_AAD_DOMAIN: Final = b"vaultstudio/field/v1"

# base64url -> the standard alphabet for binascii; "+", "/" and "=" inside the text are mapped to
# "!" so that strict decoding refuses them (they would be a second spelling of the same bytes).
_FROM_URLSAFE: Final = bytes.maketrans(b"-_+/=", b"+/!!!")
_TO_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")
# The last character of a 2- or 3-character final group carries 4 or 2 unused bits, which must be
# zero in canonical base64; these are the characters for which they are.
_CANONICAL_LAST: Final = {2: frozenset(b"AQgw"), 3: frozenset(b"AEIMQUYcgkosw048")}


class DataKeyMaterial:
    """An unwrapped data key of one version, with its AES-GCM object prepared once.

    It keeps no copy of the raw key bytes (only the AESGCM object does) and its repr shows the
    version alone.
    """

    __slots__ = ("version", "_aead", "_header")

    version: int

    def __init__(self, version: int, key: bytes) -> None:
        if not 1 <= version <= MAX_KEY_VERSION:
            raise ValueError(f"A data key version must be between 1 and {MAX_KEY_VERSION}, not {version}.")
        if len(key) != KEY_SIZE:
            raise ValueError(f"A data key must be {KEY_SIZE} bytes, not {len(key)}.")
        self.version = version
        self._aead = AESGCM(key)
        self._header = bytes((FORMAT_V1,)) + version.to_bytes(4, "big")

    def __repr__(self) -> str:
        return f"DataKeyMaterial(version={self.version})"


def _column_prefix(vault_id: str, table: str, column: str) -> bytes:
    return encode_parts(_AAD_DOMAIN, vault_id, table, column)


class Aad:
    """Where a value lives: (vault id, table, column, record id), canonically encoded once.

    The key version is not a field here: it comes from the data key when sealing and from the
    ciphertext header when opening, and is authenticated with the rest.
    """

    __slots__ = ("vault_id", "table", "column", "record_id", "encoded")

    def __init__(self, *, vault_id: str, table: str, column: str, record_id: str) -> None:
        self.vault_id = vault_id
        self.table = table
        self.column = column
        self.record_id = record_id
        self.encoded = _column_prefix(vault_id, table, column) + encode_part(record_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Aad) and other.encoded == self.encoded

    def __hash__(self) -> int:
        return hash(self.encoded)

    def __repr__(self) -> str:
        return (
            f"Aad(vault_id={self.vault_id!r}, table={self.table!r}, column={self.column!r}, "
            f"record_id={self.record_id!r})"
        )


class ColumnAad:
    """The (vault, table, column) part of the associated data, encoded once per column.

    A whole-row loop builds it once per column and calls ``for_record`` per row, which only
    appends the record id.
    """

    __slots__ = ("vault_id", "table", "column", "_prefix")

    def __init__(self, *, vault_id: str, table: str, column: str) -> None:
        self.vault_id = vault_id
        self.table = table
        self.column = column
        self._prefix = _column_prefix(vault_id, table, column)

    def for_record(self, record_id: str) -> Aad:
        aad = Aad.__new__(Aad)
        aad.vault_id = self.vault_id
        aad.table = self.table
        aad.column = self.column
        aad.record_id = record_id
        aad.encoded = self._prefix + encode_part(record_id)
        return aad

    def __repr__(self) -> str:
        return f"ColumnAad(vault_id={self.vault_id!r}, table={self.table!r}, column={self.column!r})"


class ColumnCipher:
    """Seals and opens one column's values row after row, for the data plane's whole-row loops.

    The column's AAD prefix is encoded once and its data keys are looked up by the header bytes a
    ciphertext starts with; ``record_part`` is ``encode_part(record id)``, encoded once per row for
    all its columns. The bytes authenticated are exactly those ``seal``/``open_`` use.
    """

    __slots__ = ("_prefix", "_by_header", "_active")

    def __init__(
        self, column_aad: ColumnAad, keys: Iterable[DataKeyMaterial], active: DataKeyMaterial | None = None
    ) -> None:
        self._prefix = column_aad._prefix
        self._by_header = {key._header: key for key in keys}
        self._active = active

    def seal_text(self, plaintext: bytes, record_part: bytes) -> str:
        """``seal_text`` with the active key (``active`` must have been given)."""
        assert self._active is not None, "sealing needs the active data key"
        header = self._active._header
        nonce = os.urandom(NONCE_SIZE)
        sealed = header + nonce + self._active._aead.encrypt(nonce, plaintext, self._prefix + record_part + header)
        return to_text(sealed)

    def open_text(self, text: str, record_part: bytes) -> bytes:
        """``open_text`` with the key its header names; ``CiphertextIntegrityError`` as ``open_``."""
        sealed = from_text(text)
        header = sealed[:HEADER_SIZE]
        key = self._by_header.get(header)
        if key is None or len(sealed) < _MIN_SEALED:
            if len(sealed) < _MIN_SEALED or sealed[0] != FORMAT_V1:
                raise _header_error(sealed, 0)
            raise CiphertextIntegrityError(
                f"The ciphertext names data key version {int.from_bytes(sealed[1:HEADER_SIZE], 'big')}, "
                "which this vault does not have."
            )
        try:
            return key._aead.decrypt(
                sealed[HEADER_SIZE : HEADER_SIZE + NONCE_SIZE],
                sealed[HEADER_SIZE + NONCE_SIZE :],
                self._prefix + record_part + header,
            )
        except InvalidTag:
            raise CiphertextIntegrityError(
                "A ciphertext does not authenticate: it was altered or copied from another record, column, "
                "vault or key version. The value is withheld; restore it from a backup."
            ) from None


def seal(data_key: DataKeyMaterial, plaintext: bytes, *, aad: Aad) -> bytes:
    """Encrypt ``plaintext`` for the place ``aad`` names, under ``data_key``; binary format v1."""
    header = data_key._header
    nonce = os.urandom(NONCE_SIZE)
    return header + nonce + data_key._aead.encrypt(nonce, plaintext, aad.encoded + header)


def open_(data_key: DataKeyMaterial, sealed: bytes, *, aad: Aad) -> bytes:
    """Decrypt a binary ciphertext read from the place ``aad`` names.

    Raises ``CiphertextIntegrityError`` (or its subclass ``CiphertextFormatError``) when the value
    was sealed for another place or key version, was altered, or is not a ciphertext at all.
    """
    header = sealed[:HEADER_SIZE]
    if header != data_key._header or len(sealed) < _MIN_SEALED:
        raise _header_error(sealed, data_key.version)
    try:
        return data_key._aead.decrypt(
            sealed[HEADER_SIZE : HEADER_SIZE + NONCE_SIZE], sealed[HEADER_SIZE + NONCE_SIZE :], aad.encoded + header
        )
    except InvalidTag:
        raise CiphertextIntegrityError(
            f"The ciphertext in {aad.table}.{aad.column} of record {aad.record_id} does not authenticate: "
            "it was altered or copied from another record, column, vault or key version. "
            "The value is withheld; restore it from a backup."
        ) from None


def _header_error(sealed: bytes, expected_version: int) -> CiphertextIntegrityError:
    if len(sealed) < _MIN_SEALED or sealed[0] != FORMAT_V1:
        return CiphertextFormatError(
            f"The stored value is not a version-{FORMAT_V1} ciphertext ({len(sealed)} bytes): "
            "it was altered or written by something other than vaults.crypto."
        )
    found = int.from_bytes(sealed[1:HEADER_SIZE], "big")
    return CiphertextIntegrityError(
        f"The ciphertext names data key version {found}, but version {expected_version} was given: "
        "open it with the key its header names (key_version_of)."
    )


def key_version_of(sealed: bytes) -> int:
    """The data key version a binary ciphertext names (unauthenticated until it is opened)."""
    if len(sealed) < _MIN_SEALED or sealed[0] != FORMAT_V1:
        raise _header_error(sealed, 0)
    return int.from_bytes(sealed[1:HEADER_SIZE], "big")


def to_text(sealed: bytes) -> str:
    """The text form of a binary ciphertext: ``v1:`` + unpadded base64url."""
    return TEXT_PREFIX + binascii.b2a_base64(sealed, newline=False).rstrip(b"=").translate(_TO_URLSAFE).decode("ascii")


def from_text(text: str) -> bytes:
    """The binary ciphertext of a text form; ``CiphertextFormatError`` unless it is canonical ``v1:`` text."""
    if not text.startswith(TEXT_PREFIX):
        raise CiphertextFormatError(f"A stored ciphertext must start with {TEXT_PREFIX!r}; this value does not.")
    try:
        body = text[len(TEXT_PREFIX) :].encode("ascii")
    except UnicodeEncodeError:
        raise CiphertextFormatError("A stored ciphertext contains characters outside base64url.") from None
    tail = len(body) % 4
    if tail == 1 or (tail and body[-1] not in _CANONICAL_LAST[tail]):
        raise CiphertextFormatError("A stored ciphertext is not canonical base64url: it was altered.")
    try:
        return binascii.a2b_base64(body.translate(_FROM_URLSAFE) + b"=" * (-tail % 4), strict_mode=True)
    except binascii.Error:
        raise CiphertextFormatError("A stored ciphertext contains characters outside base64url.") from None


def is_sealed_text(value: object) -> bool:
    """Whether a stored JSON value is ciphertext text (by its prefix; authenticity is checked on opening)."""
    return isinstance(value, str) and value.startswith(TEXT_PREFIX)


def key_version_of_text(text: str) -> int:
    """The data key version a text ciphertext names, decoding only the header (8 characters = 6 bytes)."""
    head = from_text(text[: len(TEXT_PREFIX) + 8])
    if len(head) < HEADER_SIZE or head[0] != FORMAT_V1:
        raise CiphertextFormatError(f"The stored value is not a version-{FORMAT_V1} ciphertext.")
    return int.from_bytes(head[1:HEADER_SIZE], "big")


def seal_text(data_key: DataKeyMaterial, plaintext: bytes, *, aad: Aad) -> str:
    """``seal`` in text form, for a JSON column."""
    return to_text(seal(data_key, plaintext, aad=aad))


def open_text(data_key: DataKeyMaterial, text: str, *, aad: Aad) -> bytes:
    """``open_`` of a text-form ciphertext."""
    return open_(data_key, from_text(text), aad=aad)
