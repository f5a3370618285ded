"""The exceptions of ``vaults.crypto``: messages name what failed and what to do, never a value or a key."""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised by ``vaults.crypto``."""


class CiphertextIntegrityError(CryptoError):
    """A stored ciphertext does not authenticate for the place it is read from.

    It was moved to another row, column, table, vault or key version, or altered: the value must be
    treated as lost and reported, never returned.
    """


class CiphertextFormatError(CiphertextIntegrityError):
    """A stored value is not a ciphertext of a format this code knows (also an integrity failure)."""


class KeyUnwrapError(CryptoError):
    """A wrapped key does not open under the KEK and purpose given (wrong KEK, wrong purpose, or tampered)."""


class UnknownKekError(KeyUnwrapError):
    """A wrapped key names a KEK id the key provider is not configured with."""


class KeyProviderError(CryptoError):
    """The key provider could not be reached or refused the request (network, permissions, throttling)."""


class BlindIndexValueError(CryptoError, ValueError):
    """A value cannot be normalized for the blind index of its column's data type."""
