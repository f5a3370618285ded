"""Key providers: local KEKs (wrap, unwrap, rotation) and AWS KMS through moto."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from vaults.crypto.errors import KeyProviderError, KeyUnwrapError, UnknownKekError
from vaults.crypto.providers import AwsKmsKeyProvider, LocalKeyProvider, WrappedKey

KEK_A = b"\x0a" * 32
KEK_B = b"\x0b" * 32
PURPOSE = "vaultstudio/data-key/vault-a/1"


@given(key=st.binary(min_size=32, max_size=32))
def test_local_round_trip(key: bytes) -> None:
    provider = LocalKeyProvider({"a": KEK_A}, active="a")
    kek_id, wrapped = provider.wrap(key, purpose=PURPOSE)
    assert kek_id == "a" and key not in wrapped
    assert provider.unwrap(kek_id, wrapped, purpose=PURPOSE) == key


def test_local_wrong_purpose_wrong_kek_and_tampering_fail() -> None:
    provider = LocalKeyProvider({"a": KEK_A, "b": KEK_B}, active="a")
    kek_id, wrapped = provider.wrap(b"k" * 32, purpose=PURPOSE)
    with pytest.raises(KeyUnwrapError, match="does not open"):
        provider.unwrap(kek_id, wrapped, purpose="vaultstudio/data-key/vault-b/1")
    with pytest.raises(KeyUnwrapError):
        provider.unwrap("b", wrapped, purpose=PURPOSE)
    with pytest.raises(KeyUnwrapError):
        provider.unwrap(kek_id, wrapped[:-1] + bytes([wrapped[-1] ^ 1]), purpose=PURPOSE)
    with pytest.raises(KeyUnwrapError):
        provider.unwrap(kek_id, b"short", purpose=PURPOSE)
    impostor = LocalKeyProvider({"a": KEK_B}, active="a")
    with pytest.raises(KeyUnwrapError):
        impostor.unwrap(kek_id, wrapped, purpose=PURPOSE)


def test_local_unknown_kek_names_the_setting() -> None:
    provider = LocalKeyProvider({"a": KEK_A}, active="a")
    with pytest.raises(UnknownKekError, match="'gone'.*VAULTSTUDIO_KEKS"):
        provider.unwrap("gone", b"x" * 40, purpose=PURPOSE)


def test_local_kek_rotation_rewraps_and_old_keys_still_open() -> None:
    before = LocalKeyProvider({"a": KEK_A}, active="a")
    old = before.wrap(b"d" * 32, purpose=PURPOSE)
    after = LocalKeyProvider({"a": KEK_A, "b": KEK_B}, active="b")
    assert after.unwrap(*old, purpose=PURPOSE) == b"d" * 32
    new = after.rewrap(*old, purpose=PURPOSE)
    assert new.kek_id == "b"
    assert after.unwrap(*new, purpose=PURPOSE) == b"d" * 32
    # Once every key is rewrapped, the old KEK can go.
    retired = LocalKeyProvider({"b": KEK_B}, active="b")
    assert retired.unwrap(*new, purpose=PURPOSE) == b"d" * 32
    # Rewrapping under the active KEK is a verified no-op.
    assert after.rewrap(*new, purpose=PURPOSE) == new
    with pytest.raises(KeyUnwrapError):
        after.rewrap(new.kek_id, new.wrapped, purpose="other")


def test_local_validation_and_repr() -> None:
    with pytest.raises(ValueError, match="at least one"):
        LocalKeyProvider({}, active="a")
    with pytest.raises(ValueError, match="KEK id 'a b'"):
        LocalKeyProvider({"a b": KEK_A}, active="a b")
    with pytest.raises(ValueError, match="32 bytes, not 3"):
        LocalKeyProvider({"a": b"abc"}, active="a")
    with pytest.raises(ValueError, match="active KEK id 'c'"):
        LocalKeyProvider({"a": KEK_A}, active="c")
    provider = LocalKeyProvider({"b": KEK_B, "a": KEK_A}, active="b")
    assert repr(provider) == "LocalKeyProvider(kek_ids=['a', 'b'], active='b')"
    assert provider.active_kek_id == "b" and provider.kek_ids == ("a", "b")
    assert KEK_A.hex() not in repr(provider)


@pytest.fixture
def kms() -> Any:
    with mock_aws():
        yield boto3.client("kms", region_name="eu-west-1")


def test_kms_round_trip_and_context(kms: Any) -> None:
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    provider = AwsKmsKeyProvider(key_arn, client=kms)
    wrapped = provider.wrap(b"p" * 32, purpose=PURPOSE)
    assert wrapped.kek_id == key_arn
    assert provider.unwrap(*wrapped, purpose=PURPOSE) == b"p" * 32
    with pytest.raises(KeyUnwrapError, match="InvalidCiphertextException"):
        provider.unwrap(*wrapped, purpose="vaultstudio/data-key/vault-b/1")


def test_kms_alias_resolves_to_the_arn(kms: Any) -> None:
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/vaultstudio", TargetKeyId=key_arn)
    provider = AwsKmsKeyProvider("alias/vaultstudio", client=kms)
    assert repr(provider) == "AwsKmsKeyProvider(key_id='alias/vaultstudio')"
    assert provider.active_kek_id == key_arn
    assert provider.active_kek_id == key_arn  # asked once, then kept


def test_kms_rotation_rewraps_inside_kms(kms: Any) -> None:
    old_arn = kms.create_key()["KeyMetadata"]["Arn"]
    new_arn = kms.create_key()["KeyMetadata"]["Arn"]
    old = AwsKmsKeyProvider(old_arn, client=kms).wrap(b"q" * 32, purpose=PURPOSE)
    provider = AwsKmsKeyProvider(new_arn, client=kms)
    assert provider.unwrap(*old, purpose=PURPOSE) == b"q" * 32
    new = provider.rewrap(*old, purpose=PURPOSE)
    assert new.kek_id == new_arn and new.wrapped != old.wrapped
    assert provider.unwrap(*new, purpose=PURPOSE) == b"q" * 32
    with pytest.raises(KeyUnwrapError):
        provider.rewrap(new.kek_id, new.wrapped, purpose="other")


def test_kms_refusals_become_provider_errors(kms: Any) -> None:
    arn_1 = kms.create_key()["KeyMetadata"]["Arn"]
    arn_2 = kms.create_key()["KeyMetadata"]["Arn"]
    wrapped = AwsKmsKeyProvider(arn_1, client=kms).wrap(b"r" * 32, purpose=PURPOSE)
    provider = AwsKmsKeyProvider(arn_2, client=kms)
    # A ciphertext of key 1 presented as key 2's: KMS answers AccessDenied (moto) or IncorrectKey (AWS).
    with pytest.raises((KeyProviderError, KeyUnwrapError)):
        provider.unwrap(arn_2, wrapped.wrapped, purpose=PURPOSE)
    missing = AwsKmsKeyProvider("alias/missing", client=kms)
    with pytest.raises(KeyProviderError, match="Encrypt failed with NotFoundException.*'alias/missing'"):
        missing.wrap(b"r" * 32, purpose=PURPOSE)


class _Unreachable:
    def encrypt(self, **kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://kms.example")


def test_kms_network_failure_is_a_provider_error() -> None:
    provider = AwsKmsKeyProvider("key", client=_Unreachable())
    with pytest.raises(KeyProviderError, match="EndpointConnectionError"):
        provider.wrap(b"s" * 32, purpose=PURPOSE)


def test_kms_builds_its_own_client_and_needs_a_key_id() -> None:
    with mock_aws():
        arn = boto3.client("kms", region_name="us-east-2").create_key()["KeyMetadata"]["Arn"]
        provider = AwsKmsKeyProvider(arn, region_name="us-east-2")
        assert provider.unwrap(*provider.wrap(b"t" * 32, purpose=PURPOSE), purpose=PURPOSE) == b"t" * 32
    with pytest.raises(ValueError, match="KMS key id"):
        AwsKmsKeyProvider("")


def test_wrapped_key_is_a_pair() -> None:
    kek_id, wrapped = WrappedKey("a", b"w")
    assert (kek_id, wrapped) == ("a", b"w")
