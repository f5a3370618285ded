"""The one place that reads settings: which key provider and key cache this process uses.

``build_key_provider``/``build_keyring`` are pure (they take a mapping of setting names to text);
``get_keyring`` feeds them from Django settings, falling back to the environment, once per process.

Settings (environment variables of the same names):

* ``VAULTSTUDIO_KEY_PROVIDER``: ``local`` (default) or ``aws-kms``.
* ``local``: the KEK ``default`` is the master key (``VAULTSTUDIO_MASTER_KEY`` or its key file, via
  ``vaultstudio.master_key``); ``VAULTSTUDIO_KEKS="id1:base64,id2:base64"`` adds KEKs for rotation and
  ``VAULTSTUDIO_ACTIVE_KEK`` names the one new keys are wrapped under (required when there are several).
* ``aws-kms``: ``VAULTSTUDIO_KMS_KEY_ID`` (key id, ARN or alias); the region from ``AWS_REGION`` or
  ``AWS_DEFAULT_REGION``; credentials the usual boto3 way.
* ``VAULTSTUDIO_KEY_CACHE_MAX_ENTRIES`` (default 1024) and ``VAULTSTUDIO_KEY_CACHE_MAX_AGE`` (seconds,
  default 300): the bound on unwrapped keys kept in memory.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from vaults.crypto.keyring import DEFAULT_MAX_AGE, DEFAULT_MAX_ENTRIES, Keyring
from vaults.crypto.providers import KEK_ID_PATTERN, KEK_SIZE, AwsKmsKeyProvider, KeyProvider, LocalKeyProvider

DEFAULT_KEK_ID = "default"
SETTING_NAMES = (
    "VAULTSTUDIO_KEY_PROVIDER",
    "VAULTSTUDIO_KEKS",
    "VAULTSTUDIO_ACTIVE_KEK",
    "VAULTSTUDIO_KMS_KEY_ID",
    "VAULTSTUDIO_KEY_CACHE_MAX_ENTRIES",
    "VAULTSTUDIO_KEY_CACHE_MAX_AGE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def parse_keks(text: str) -> dict[str, bytes]:
    """``"id1:base64,id2:base64"`` as KEKs by id; ``ImproperlyConfigured`` naming the faulty entry."""
    keks: dict[str, bytes] = {}
    for position, entry in enumerate((e.strip() for e in text.split(",") if e.strip()), start=1):
        kek_id, sep, encoded = entry.partition(":")
        kek_id = kek_id.strip()
        if not sep or not KEK_ID_PATTERN.fullmatch(kek_id):
            raise ImproperlyConfigured(
                f"VAULTSTUDIO_KEKS entry {position} must be 'id:base64-key' with an id of 1-64 letters, "
                "digits, '.', '_' or '-'."
            )
        if kek_id in keks:
            raise ImproperlyConfigured(f"VAULTSTUDIO_KEKS names KEK {kek_id!r} twice.")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"VAULTSTUDIO_KEKS: KEK {kek_id!r} is not valid base64.") from None
        if len(key) != KEK_SIZE:
            raise ImproperlyConfigured(
                f"VAULTSTUDIO_KEKS: KEK {kek_id!r} must decode to {KEK_SIZE} bytes, not {len(key)}."
            )
        keks[kek_id] = key
    if not keks:
        raise ImproperlyConfigured("VAULTSTUDIO_KEKS is set but names no KEK; unset it or add 'id:base64-key'.")
    return keks


def build_key_provider(
    values: Mapping[str, str], *, master_key: Callable[[], bytes | None], kms_client: Any = None
) -> KeyProvider:
    """The key provider ``values`` describe. ``master_key`` returns the ``default`` KEK, or None if unset."""
    kind = values.get("VAULTSTUDIO_KEY_PROVIDER", "local").strip().lower() or "local"
    if kind == "local":
        return _local_provider(values, master_key)
    if kind == "aws-kms":
        key_id = values.get("VAULTSTUDIO_KMS_KEY_ID", "").strip()
        if not key_id:
            raise ImproperlyConfigured(
                "VAULTSTUDIO_KEY_PROVIDER=aws-kms needs VAULTSTUDIO_KMS_KEY_ID (a KMS key id, ARN or alias)."
            )
        region = values.get("AWS_REGION") or values.get("AWS_DEFAULT_REGION") or None
        if kms_client is None and region is None:
            raise ImproperlyConfigured("VAULTSTUDIO_KEY_PROVIDER=aws-kms needs AWS_REGION (or AWS_DEFAULT_REGION).")
        return AwsKmsKeyProvider(key_id, client=kms_client, region_name=region)
    raise ImproperlyConfigured(f"VAULTSTUDIO_KEY_PROVIDER must be 'local' or 'aws-kms', not {kind!r}.")


def _local_provider(values: Mapping[str, str], master_key: Callable[[], bytes | None]) -> LocalKeyProvider:
    extra = values.get("VAULTSTUDIO_KEKS", "").strip()
    keks = parse_keks(extra) if extra else {}
    if DEFAULT_KEK_ID in keks:
        raise ImproperlyConfigured(
            f"VAULTSTUDIO_KEKS must not name {DEFAULT_KEK_ID!r}: that id is the master key (VAULTSTUDIO_MASTER_KEY)."
        )
    default = master_key()
    if default is not None:
        keks[DEFAULT_KEK_ID] = default
    if not keks:
        raise ImproperlyConfigured("No KEK: set VAULTSTUDIO_MASTER_KEY (or its key file) or VAULTSTUDIO_KEKS.")
    active = values.get("VAULTSTUDIO_ACTIVE_KEK", "").strip()
    if not active:
        if len(keks) > 1:
            raise ImproperlyConfigured(
                f"Several KEKs are configured ({', '.join(sorted(keks))}): set VAULTSTUDIO_ACTIVE_KEK to the one "
                "new keys are wrapped under."
            )
        (active,) = keks
    if active not in keks:
        raise ImproperlyConfigured(
            f"VAULTSTUDIO_ACTIVE_KEK={active!r} is not a configured KEK ({', '.join(sorted(keks))})."
        )
    return LocalKeyProvider(keks, active=active)


def build_keyring(
    values: Mapping[str, str], *, master_key: Callable[[], bytes | None], kms_client: Any = None
) -> Keyring:
    """The keyring ``values`` describe: its provider and the bounds of its cache."""
    provider = build_key_provider(values, master_key=master_key, kms_client=kms_client)
    max_entries = _number(values, "VAULTSTUDIO_KEY_CACHE_MAX_ENTRIES", int, DEFAULT_MAX_ENTRIES)
    max_age = _number(values, "VAULTSTUDIO_KEY_CACHE_MAX_AGE", float, DEFAULT_MAX_AGE)
    if max_entries < 1 or not max_age > 0:
        raise ImproperlyConfigured(
            "VAULTSTUDIO_KEY_CACHE_MAX_ENTRIES must be at least 1 and VAULTSTUDIO_KEY_CACHE_MAX_AGE positive seconds."
        )
    return Keyring(provider, max_entries=int(max_entries), max_age=float(max_age))


def _number(values: Mapping[str, str], name: str, kind: type[int] | type[float], default: float) -> float:
    text = values.get(name, "").strip()
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number of seconds"
        raise ImproperlyConfigured(f"{name} must be {what}, not {text!r}.") from None


@lru_cache(maxsize=1)
def get_keyring() -> Keyring:
    """This process's keyring, built from Django settings (or the environment) on first use.

    Tests that change the settings call ``get_keyring.cache_clear()``.
    """
    from django.conf import settings

    # Looked up by name so that `mypy --strict vaults/crypto` checks this package alone, not the
    # project package (vaultstudio/__init__ loads Celery, which is untyped).
    load_master_key: Callable[[], bytes] = importlib.import_module("vaultstudio.master_key").load_master_key

    values: dict[str, str] = {}
    for name in SETTING_NAMES:
        value = getattr(settings, name, None)
        if value is None:
            value = os.environ.get(name)
        if value is not None and str(value).strip():
            values[name] = str(value)

    def master_key() -> bytes | None:
        # With VAULTSTUDIO_KEKS the master key is optional (it may have been rotated out); without
        # them it is the only KEK, and load_master_key refuses (production) or creates (development).
        configured = settings.VAULTSTUDIO_MASTER_KEY or os.path.exists(settings.VAULTSTUDIO_MASTER_KEY_FILE)
        if "VAULTSTUDIO_KEKS" in values and not configured:
            return None
        return load_master_key()

    return build_keyring(values, master_key=master_key)
