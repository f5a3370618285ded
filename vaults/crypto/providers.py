"""Key providers: who wraps data keys and index secrets under a key-encryption key (KEK).

``wrap(plaintext_key, purpose=...) -> WrappedKey(kek_id, wrapped)``, ``unwrap(kek_id, wrapped, purpose=...)``
and ``rewrap(kek_id, wrapped, purpose=...)`` (KEK rotation: re-wrap under the active KEK). The purpose
string names what the key is for (see ``keyring.data_key_purpose``) and is authenticated, so a wrapped
key cannot be unwrapped as something else or for another vault.

* ``LocalKeyProvider``: KEKs held in process memory (from the environment or a key file), several by id
  with one active, AES-256-GCM wrapping.
* ``AwsKmsKeyProvider``: AWS KMS ``Encrypt``/``Decrypt``/``ReEncrypt`` with the purpose as the encryption
  context; the KEK never leaves KMS.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaults.crypto.canonical import encode_parts
from vaults.crypto.errors import KeyProviderError, KeyUnwrapError, UnknownKekError

KEK_SIZE: Final = 32
KEK_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_NONCE_SIZE: Final = 12
_WRAP_DOMAIN: Final = b"vaultstudio/kek-wrap/v1"
_KMS_CONTEXT_KEY: Final = "vaultstudio:purpose"


class WrappedKey(NamedTuple):
    """A key wrapped by a KEK, and the id of that KEK (both safe to store in the database)."""

    kek_id: str
    wrapped: bytes


class KeyProvider(Protocol):
    """What the keyring needs from a KEK holder."""

    @property
    def active_kek_id(self) -> str:
        """The KEK new keys are wrapped under."""
        ...

    def wrap(self, plaintext_key: bytes, *, purpose: str) -> WrappedKey:
        """Wrap ``plaintext_key`` under the active KEK, bound to ``purpose``."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes, *, purpose: str) -> bytes:
        """The plaintext key; ``KeyUnwrapError`` if it does not open under ``kek_id`` for ``purpose``."""
        ...

    def rewrap(self, kek_id: str, wrapped: bytes, *, purpose: str) -> WrappedKey:
        """The same key wrapped under the active KEK (a provider may return it unchanged if it already is)."""
        ...


class LocalKeyProvider:
    """KEKs by id, one active; wrapping is AES-256-GCM with the KEK id and purpose as associated data.

    Wrapped format: nonce (12 bytes) | ciphertext | tag (16 bytes).
    """

    __slots__ = ("_keks", "_active")

    def __init__(self, keks: Mapping[str, bytes], *, active: str) -> None:
        if not keks:
            raise ValueError("LocalKeyProvider needs at least one KEK.")
        for kek_id, key in keks.items():
            if not KEK_ID_PATTERN.fullmatch(kek_id):
                raise ValueError(f"KEK id {kek_id!r} must be 1-64 letters, digits, '.', '_' or '-'.")
            if len(key) != KEK_SIZE:
                raise ValueError(f"KEK {kek_id!r} must be {KEK_SIZE} bytes, not {len(key)}.")
        if active not in keks:
            raise ValueError(f"The active KEK id {active!r} is not among the KEKs given ({', '.join(sorted(keks))}).")
        # One AESGCM object per KEK, prepared once; the raw key bytes are not kept here.
        self._keks = {kek_id: AESGCM(key) for kek_id, key in keks.items()}
        self._active = active

    @property
    def active_kek_id(self) -> str:
        return self._active

    @property
    def kek_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keks))

    def __repr__(self) -> str:
        return f"LocalKeyProvider(kek_ids={list(self.kek_ids)!r}, active={self._active!r})"

    @staticmethod
    def _aad(kek_id: str, purpose: str) -> bytes:
        return encode_parts(_WRAP_DOMAIN, kek_id, purpose)

    def wrap(self, plaintext_key: bytes, *, purpose: str) -> WrappedKey:
        nonce = os.urandom(_NONCE_SIZE)
        sealed = self._keks[self._active].encrypt(nonce, plaintext_key, self._aad(self._active, purpose))
        return WrappedKey(self._active, nonce + sealed)

    def unwrap(self, kek_id: str, wrapped: bytes, *, purpose: str) -> bytes:
        kek = self._keks.get(kek_id)
        if kek is None:
            raise UnknownKekError(
                f"The key was wrapped by KEK {kek_id!r}, which is not configured "
                f"(configured: {', '.join(self.kek_ids)}). Add it to VAULTSTUDIO_KEKS."
            )
        try:
            return kek.decrypt(wrapped[:_NONCE_SIZE], wrapped[_NONCE_SIZE:], self._aad(kek_id, purpose))
        except (InvalidTag, ValueError):
            # ValueError: a wrapped value too short to hold a nonce and a tag.
            raise KeyUnwrapError(
                f"The key wrapped by KEK {kek_id!r} does not open for {purpose!r}: wrong KEK material, "
                "a key wrapped for another purpose or vault, or an altered wrapped key."
            ) from None

    def rewrap(self, kek_id: str, wrapped: bytes, *, purpose: str) -> WrappedKey:
        if kek_id == self._active:
            # Still verified, so a rotation run reports a broken wrapped key instead of skipping it.
            self.unwrap(kek_id, wrapped, purpose=purpose)
            return WrappedKey(kek_id, wrapped)
        return self.wrap(self.unwrap(kek_id, wrapped, purpose=purpose), purpose=purpose)


class AwsKmsKeyProvider:
    """AWS KMS as the KEK holder: one symmetric KMS key is active; the KEK id stored is its ARN.

    The purpose travels as the encryption context, which KMS authenticates (and records in
    CloudTrail). Pass ``client`` to reuse a configured boto3 KMS client; otherwise one is made for
    ``region_name`` (or the usual AWS environment).
    """

    __slots__ = ("_key_id", "_client", "_active_arn")

    def __init__(self, key_id: str, *, client: Any = None, region_name: str | None = None) -> None:
        if not key_id:
            raise ValueError("AwsKmsKeyProvider needs a KMS key id, ARN or alias.")
        if client is None:
            import boto3  # Imported here so that the pure modules load without boto3's start-up cost.

            client = boto3.client("kms", region_name=region_name)
        self._key_id = key_id
        self._client = client
        self._active_arn: str | None = None

    def __repr__(self) -> str:
        return f"AwsKmsKeyProvider(key_id={self._key_id!r})"

    @property
    def active_kek_id(self) -> str:
        """The active key's ARN (asked of KMS once, since the configured id may be an alias)."""
        if self._active_arn is None:
            metadata = self._call("DescribeKey", KeyId=self._key_id)["KeyMetadata"]
            self._active_arn = str(metadata["Arn"])
        return self._active_arn

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        method = {"DescribeKey": "describe_key", "Encrypt": "encrypt", "Decrypt": "decrypt", "ReEncrypt": "re_encrypt"}
        try:
            response: dict[str, Any] = getattr(self._client, method[operation])(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            if code in ("InvalidCiphertextException", "IncorrectKeyException"):
                raise KeyUnwrapError(
                    f"AWS KMS refused to {operation} the wrapped key ({code}): wrong KMS key, a key "
                    "wrapped for another purpose or vault, or an altered wrapped key."
                ) from None
            raise KeyProviderError(
                f"AWS KMS {operation} failed with {code}: check the key id/alias {self._key_id!r}, "
                "the key's state and the IAM permissions of this process."
            ) from None
        except BotoCoreError as exc:
            raise KeyProviderError(
                f"AWS KMS {operation} could not be completed ({type(exc).__name__}): check the region, "
                "the network and the AWS credentials of this process."
            ) from None
        return response

    def wrap(self, plaintext_key: bytes, *, purpose: str) -> WrappedKey:
        response = self._call(
            "Encrypt", KeyId=self._key_id, Plaintext=plaintext_key, EncryptionContext={_KMS_CONTEXT_KEY: purpose}
        )
        self._active_arn = str(response["KeyId"])
        return WrappedKey(self._active_arn, bytes(response["CiphertextBlob"]))

    def unwrap(self, kek_id: str, wrapped: bytes, *, purpose: str) -> bytes:
        response = self._call(
            "Decrypt", KeyId=kek_id, CiphertextBlob=wrapped, EncryptionContext={_KMS_CONTEXT_KEY: purpose}
        )
        return bytes(response["Plaintext"])

    def rewrap(self, kek_id: str, wrapped: bytes, *, purpose: str) -> WrappedKey:
        context = {_KMS_CONTEXT_KEY: purpose}
        # ReEncrypt decrypts and re-encrypts inside KMS: the plaintext key never reaches this process.
        response = self._call(
            "ReEncrypt",
            CiphertextBlob=wrapped,
            SourceKeyId=kek_id,
            SourceEncryptionContext=context,
            DestinationKeyId=self._key_id,
            DestinationEncryptionContext=context,
        )
        return WrappedKey(str(response["KeyId"]), bytes(response["CiphertextBlob"]))
