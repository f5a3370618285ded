"""Key handling for service accounts and access-token signing (pure functions, no I/O).

One of the two places where ``cryptography`` is imported (the other is ``vaults/crypto``).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RS256, ES256 = "RS256", "ES256"
ALGORITHMS = (RS256, ES256)
MIN_RSA_BITS = 2048


class KeyFormatError(ValueError):
    """An uploaded key is not usable; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class KeyPair:
    algorithm: str
    private_pem: str
    public_pem: str


def generate_keypair(algorithm: str) -> KeyPair:
    if algorithm == RS256:
        private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = rsa.generate_private_key(
            public_exponent=65537, key_size=2048
        )
    elif algorithm == ES256:
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise KeyFormatError(f"Unsupported algorithm {algorithm!r}: use RS256 or ES256.")
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = public_pem_of(private.public_key())
    return KeyPair(algorithm, private_pem, public_pem)


def public_pem_of(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def normalize_public_key(pem: str, algorithm: str) -> str:
    """Validate an uploaded public key for ``algorithm`` and return it as canonical SPKI PEM."""
    if algorithm not in ALGORITHMS:
        raise KeyFormatError(f"Unsupported algorithm {algorithm!r}: use RS256 or ES256.")
    text = (pem or "").strip()
    if "PRIVATE KEY" in text:
        raise KeyFormatError("This is a private key. Upload only the public key; the private key must never leave you.")
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"Not a PEM public key ({exc}).") from exc
    if algorithm == RS256:
        if not isinstance(key, rsa.RSAPublicKey):
            raise KeyFormatError("RS256 needs an RSA public key.")
        if key.key_size < MIN_RSA_BITS:
            raise KeyFormatError(f"The RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are required.")
    else:
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise KeyFormatError("ES256 needs an EC public key on the P-256 curve.")
    return public_pem_of(key)


def fingerprint(public_pem: str) -> str:
    key = serialization.load_pem_public_key(public_pem.encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load_public_key(public_pem: str) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    return serialization.load_pem_public_key(public_pem.encode())  # type: ignore[return-value]


@lru_cache(maxsize=4096)
def load_public_key_cached(public_pem: str) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    """Parsed public keys, by PEM: parsing an RSA key costs more than verifying with it."""
    return load_public_key(public_pem)


def load_private_key(private_pem: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(private_pem.encode(), password=None)  # type: ignore[return-value]


# --- wrapping VaultStudio's own signing keys under the master key ------------------------------
_WRAP_INFO = b"vaultstudio/signing-key-wrap/v1"


def _wrapping_key(master_key: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_WRAP_INFO).derive(master_key)
    return AESGCM(derived)


def wrap_secret(master_key: bytes, secret: bytes, aad: bytes) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(nonce + _wrapping_key(master_key).encrypt(nonce, secret, aad)).decode()


class UnwrapError(ValueError):
    """A wrapped secret did not open: wrong master key or tampered data."""


def unwrap_secret(master_key: bytes, wrapped: str, aad: bytes) -> bytes:
    raw = base64.b64decode(wrapped)
    try:
        return _wrapping_key(master_key).decrypt(raw[:12], raw[12:], aad)
    except InvalidTag as exc:
        raise UnwrapError("The wrapped key does not open with this master key (or was altered).") from exc


def jwk_of(kid: str, public_pem: str) -> dict[str, str]:
    """The public JWK of an EC P-256 verification key, for /.well-known/jwks.json."""
    key = load_public_key(public_pem)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise KeyFormatError("Signing keys are EC P-256.")
    numbers = key.public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x),
        "y": b64(numbers.y),
        "kid": kid,
        "use": "sig",
        "alg": ES256,
    }
