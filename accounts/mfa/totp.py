"""TOTP secrets sealed at rest (DESIGN.md §3 rule 4): AES-256-GCM under a key derived from the master
key (``accounts.keys.wrap_secret``), bound to the person and the device by the associated data.

A sealed secret opens only on the row it was made for: copying one person's sealed secret onto
another's device, or onto another device of the same person, fails to open instead of working. The
plaintext secret exists only in memory: while a code is checked, and while the enrolment page shows
it for the authenticator app.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any
from urllib.parse import quote, urlencode

from accounts.keys import UnwrapError, unwrap_secret, wrap_secret
from vaultstudio.master_key import load_master_key

SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends (and django-otp's TOTPDevice makes)

__all__ = ["SECRET_BYTES", "UnwrapError", "base32", "config_url", "new_secret", "open_secret", "seal_secret"]


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def secret_aad(*, user_id: Any, seal_id: Any) -> bytes:
    """The associated data of a device's sealed secret: its owner and its own random id."""
    return f"totp:{uuid.UUID(str(user_id))}:{uuid.UUID(str(seal_id))}".encode()


def seal_secret(secret: bytes, *, user_id: Any, seal_id: Any, master_key: bytes | None = None) -> str:
    """``secret`` sealed under the master key (default: the configured one) for this row."""
    key = load_master_key() if master_key is None else master_key
    return wrap_secret(key, secret, secret_aad(user_id=user_id, seal_id=seal_id))


def open_secret(sealed: str, *, user_id: Any, seal_id: Any, master_key: bytes | None = None) -> bytes:
    """The secret of a sealed TOTP key; ``UnwrapError`` if it was made for another row, was altered,
    or was sealed under another master key."""
    key = load_master_key() if master_key is None else master_key
    try:
        return unwrap_secret(key, sealed, secret_aad(user_id=user_id, seal_id=seal_id))
    except UnwrapError:
        raise
    except ValueError as exc:  # not base64, or too short to hold a nonce and a tag
        raise UnwrapError("The sealed TOTP secret is malformed.") from exc


def base32(secret: bytes) -> str:
    """The secret as authenticator apps take it when typed in (RFC 4648 base32, no padding)."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def config_url(secret: bytes, *, account: str, issuer: str, digits: int, step: int) -> str:
    """The ``otpauth://`` URI of the Key Uri Format that authenticator apps scan from the QR code."""
    label = account
    params = urlencode({"secret": base32(secret), "algorithm": "SHA1", "digits": digits, "period": step})
    issuer = issuer.replace(":", "")
    if issuer:
        label = f"{issuer}:{account}"
        params += f"&issuer={quote(issuer)}"  # RFC 3986 encoding, not quote_plus
    return f"otpauth://totp/{quote(label)}?{params}"
