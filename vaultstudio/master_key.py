"""Where the master key (KEK) comes from: ``VAULTSTUDIO_MASTER_KEY`` or a key file, never the database.

In development (DEBUG=True) a missing key file is generated on first use, with a warning; in
production the settings refuse to start without one.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)


def decode_master_key(text: str, origin: str) -> bytes:
    """A master key as written in the environment or a key file: the base64 of 32 bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{origin} must be the base64 of 32 random bytes ({exc}).") from exc
    if len(key) != 32:
        raise ImproperlyConfigured(f"{origin} must decode to 32 bytes, not {len(key)}.")
    return key


@lru_cache(maxsize=1)
def load_master_key() -> bytes:
    if settings.VAULTSTUDIO_MASTER_KEY:
        return decode_master_key(settings.VAULTSTUDIO_MASTER_KEY, "VAULTSTUDIO_MASTER_KEY")
    path = Path(settings.VAULTSTUDIO_MASTER_KEY_FILE)
    if path.exists():
        return decode_master_key(path.read_text(), f"The master key file {path}")
    if not settings.DEBUG:
        raise ImproperlyConfigured(f"No master key: set VAULTSTUDIO_MASTER_KEY or create {path}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    logger.warning(
        "Generated a development master key at %s. Back it up: data sealed under it is lost without it. "
        "In production set VAULTSTUDIO_MASTER_KEY or VAULTSTUDIO_MASTER_KEY_FILE.",
        path,
    )
    return decode_master_key(path.read_text(), f"The master key file {path}")
