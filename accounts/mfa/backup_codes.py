"""Single-use backup codes: generated at random, shown once, stored as HMAC-SHA256 digests.

The digest is keyed by the server's secret and bound to its device, so a leaked table neither reveals
codes nor lets one person's code be matched against another's. A code is deleted when it is used.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.crypto import salted_hmac

if TYPE_CHECKING:
    from accounts.models import BackupCodeDevice

COUNT = 10
# No 0/O, 1/I/L: a code is read off paper and typed by hand. 10 characters of 31 ≈ 49.5 bits.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
LENGTH = 10
_KEY_SALT = "vaultstudio.accounts.backup-code.v1"


def normalize(code: str) -> str:
    """What the person typed, as stored: lower case, without spaces or dashes."""
    return "".join(ch for ch in code.lower() if ch not in " -\t")


def digest(device_id: int, code: str) -> str:
    return salted_hmac(_KEY_SALT, f"{device_id}:{normalize(code)}", algorithm="sha256").hexdigest()


def new_codes(count: int = COUNT) -> list[str]:
    """Fresh codes, formatted for reading (``abcde-fghjk``)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def consume(device: BackupCodeDevice, code: str) -> bool:
    """True, and the code is gone, if ``code`` is one of the device's unused codes.

    Every stored digest is compared in constant time; the matching row is deleted under a row lock
    so that two requests racing with the same code cannot both succeed.
    """
    if len(normalize(code)) != LENGTH:
        return False
    wanted = digest(device.pk, code)
    with transaction.atomic():
        rows = list(device.codes.select_for_update().values_list("pk", "digest"))
        match = None
        for pk, stored in rows:
            if hmac.compare_digest(stored, wanted):
                match = pk
        if match is None:
            return False
        deleted, _ = device.codes.filter(pk=match).delete()
        return deleted == 1
