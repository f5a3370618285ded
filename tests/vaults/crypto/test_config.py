"""Building the key provider and keyring from settings, with errors that name what is misconfigured."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from moto import mock_aws

from vaults.crypto import config
from vaults.crypto.config import build_key_provider, build_keyring, get_keyring, parse_keks
from vaults.crypto.providers import AwsKmsKeyProvider, LocalKeyProvider

MASTER = b"m" * 32
K2 = b"2" * 32
K3 = b"3" * 32


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def master() -> bytes | None:
    return MASTER


def no_master() -> bytes | None:
    return None


def test_default_is_local_with_the_master_key() -> None:
    provider = build_key_provider({}, master_key=master)
    assert isinstance(provider, LocalKeyProvider)
    assert provider.kek_ids == ("default",) and provider.active_kek_id == "default"
    assert build_key_provider({"VAULTSTUDIO_KEY_PROVIDER": " "}, master_key=master).active_kek_id == "default"


def test_kek_rotation_settings() -> None:
    values = {"VAULTSTUDIO_KEKS": f"k2:{b64(K2)}, k3:{b64(K3)},", "VAULTSTUDIO_ACTIVE_KEK": "k3"}
    provider = build_key_provider(values, master_key=master)
    assert isinstance(provider, LocalKeyProvider)
    assert provider.kek_ids == ("default", "k2", "k3") and provider.active_kek_id == "k3"
    # A key wrapped under the master key still opens once k3 is active.
    wrapped = LocalKeyProvider({"default": MASTER}, active="default").wrap(b"d" * 32, purpose="p")
    assert provider.unwrap(*wrapped, purpose="p") == b"d" * 32
    # Without the master key: a single KEK is active without naming it.
    only = build_key_provider({"VAULTSTUDIO_KEKS": f"k2:{b64(K2)}"}, master_key=no_master)
    assert only.active_kek_id == "k2"


@pytest.mark.parametrize(
    ("values", "master_key", "message"),
    [
        ({"VAULTSTUDIO_KEY_PROVIDER": "vault"}, master, "must be 'local' or 'aws-kms', not 'vault'"),
        ({}, no_master, "No KEK"),
        ({"VAULTSTUDIO_KEKS": f"k2:{b64(K2)}"}, master, "set VAULTSTUDIO_ACTIVE_KEK"),
        ({"VAULTSTUDIO_ACTIVE_KEK": "k9"}, master, "VAULTSTUDIO_ACTIVE_KEK='k9' is not a configured KEK"),
        ({"VAULTSTUDIO_KEKS": f"default:{b64(K2)}"}, master, "must not name 'default'"),
        ({"VAULTSTUDIO_KEY_PROVIDER": "aws-kms"}, master, "needs VAULTSTUDIO_KMS_KEY_ID"),
        ({"VAULTSTUDIO_KEY_PROVIDER": "aws-kms", "VAULTSTUDIO_KMS_KEY_ID": "k"}, master, "needs AWS_REGION"),
    ],
)
def test_misconfiguration_names_the_setting(values: dict[str, str], master_key: Any, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        build_key_provider(values, master_key=master_key)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("k2", "entry 1 must be 'id:base64-key'"),
        (f"k2:{b64(K2)},bad id:{b64(K3)}", "entry 2 must be"),
        (f"k2:{b64(K2)},k2:{b64(K3)}", "names KEK 'k2' twice"),
        ("k2:not base64!", "KEK 'k2' is not valid base64"),
        (f"k2:{b64(b'short')}", "KEK 'k2' must decode to 32 bytes, not 5"),
        (" , ", "names no KEK"),
    ],
)
def test_parse_keks_errors_name_the_entry_never_the_key(text: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message) as info:
        parse_keks(text)
    assert b64(K2) not in str(info.value) and b64(K3) not in str(info.value)


def test_aws_kms_from_settings() -> None:
    with mock_aws():
        arn = boto3.client("kms", region_name="eu-central-1").create_key()["KeyMetadata"]["Arn"]
        values = {"VAULTSTUDIO_KEY_PROVIDER": "AWS-KMS", "VAULTSTUDIO_KMS_KEY_ID": arn, "AWS_REGION": "eu-central-1"}
        provider = build_key_provider(values, master_key=no_master)
        assert isinstance(provider, AwsKmsKeyProvider)
        assert provider.unwrap(*provider.wrap(b"k" * 32, purpose="p"), purpose="p") == b"k" * 32
        client = boto3.client("kms", region_name="eu-central-1")
        given_client = build_key_provider(
            {"VAULTSTUDIO_KEY_PROVIDER": "aws-kms", "VAULTSTUDIO_KMS_KEY_ID": arn},
            master_key=no_master,
            kms_client=client,
        )
        assert given_client.active_kek_id == arn


def test_keyring_cache_settings() -> None:
    keyring = build_keyring(
        {"VAULTSTUDIO_KEY_CACHE_MAX_ENTRIES": "7", "VAULTSTUDIO_KEY_CACHE_MAX_AGE": "2.5"}, master_key=master
    )
    assert (keyring.max_entries, keyring.max_age) == (7, 2.5)
    defaults = build_keyring({}, master_key=master)
    assert (defaults.max_entries, defaults.max_age) == (1024, 300.0)
    with pytest.raises(ImproperlyConfigured, match="MAX_ENTRIES must be a whole number, not 'many'"):
        build_keyring({"VAULTSTUDIO_KEY_CACHE_MAX_ENTRIES": "many"}, master_key=master)
    with pytest.raises(ImproperlyConfigured, match="MAX_AGE must be a number of seconds, not 'soon'"):
        build_keyring({"VAULTSTUDIO_KEY_CACHE_MAX_AGE": "soon"}, master_key=master)
    with pytest.raises(ImproperlyConfigured, match="positive seconds"):
        build_keyring({"VAULTSTUDIO_KEY_CACHE_MAX_AGE": "0"}, master_key=master)


@pytest.fixture
def fresh_keyring() -> Any:
    get_keyring.cache_clear()
    yield
    get_keyring.cache_clear()


def test_get_keyring_reads_settings_and_environment(
    fresh_keyring: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test settings set VAULTSTUDIO_MASTER_KEY (tests/conftest.py).
    # settings.py reads these from the environment; a name missing from settings falls back to it.
    del settings.VAULTSTUDIO_KEY_CACHE_MAX_ENTRIES
    monkeypatch.setenv("VAULTSTUDIO_KEY_CACHE_MAX_ENTRIES", "5")
    settings.VAULTSTUDIO_KEY_CACHE_MAX_AGE = 9
    keyring = get_keyring()
    assert get_keyring() is keyring
    assert isinstance(keyring.provider, LocalKeyProvider) and keyring.provider.kek_ids == ("default",)
    assert (keyring.max_entries, keyring.max_age) == (5, 9.0)


def test_get_keyring_without_master_key_uses_only_the_keks(
    fresh_keyring: None, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vaultstudio.master_key import load_master_key

    settings.VAULTSTUDIO_MASTER_KEY = ""
    settings.VAULTSTUDIO_MASTER_KEY_FILE = str(tmp_path / "absent.key")
    load_master_key.cache_clear()
    settings.VAULTSTUDIO_KEKS = f"k2:{b64(K2)}"
    keyring = get_keyring()
    assert isinstance(keyring.provider, LocalKeyProvider) and keyring.provider.kek_ids == ("k2",)
    assert not (tmp_path / "absent.key").exists()  # no development key was generated on the side
    load_master_key.cache_clear()


def test_setting_names_are_documented() -> None:
    for name in config.SETTING_NAMES:
        assert name in (config.__doc__ or "")
