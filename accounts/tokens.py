"""RFC 7523 assertions in, VaultStudio access tokens out (DESIGN.md §9, SKYFLOW_WIRE.md §1).

The checks on an assertion are pure functions over its parsed parts; ``accounts.services`` wraps
them with the database, the replay cache and the audit log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt

from .keys import ALGORITHMS

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class TokenRefused(Exception):
    """Why an assertion (or an access token) is refused: a stable reason code and a message."""

    def __init__(self, reason: str, message: str, *, client_id: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.client_id = client_id


@dataclass(frozen=True)
class ParsedAssertion:
    raw: str
    header: dict[str, Any]
    claims: dict[str, Any]
    alg: str
    client_id: str
    key_id: str
    signing_input: bytes
    signature: bytes


# The assertion is parsed once (PyJWT's base64 checks are pure Python) and its signature checked
# directly with the algorithm object, instead of a second full decode.
_ALGORITHMS = {name: jwt.algorithms.get_default_algorithms()[name] for name in ALGORITHMS}


def parse_token_request(body: dict[str, Any]) -> tuple[str, list[str]]:
    """Return (assertion, requested role ids) from the token request body, or refuse."""
    if not isinstance(body, dict):
        raise TokenRefused(
            "malformed_body", "The body must be a JSON object (or a form) with grant_type and assertion."
        )
    grant_type = body.get("grant_type")
    assertion = body.get("assertion")
    if grant_type != GRANT_TYPE:
        raise TokenRefused("unsupported_grant_type", f"grant_type must be '{GRANT_TYPE}'.")
    if not isinstance(assertion, str) or not assertion:
        raise TokenRefused("malformed_body", "assertion is missing: send the signed JWT in 'assertion'.")
    scope = body.get("scope")
    roles: list[str] = []
    if scope not in (None, ""):
        if not isinstance(scope, str):
            raise TokenRefused("malformed_body", "scope must be a string like 'role:<id> role:<id>'.")
        for item in scope.split():
            if not item.startswith("role:") or len(item) == 5:
                raise TokenRefused("malformed_body", f"scope item {item!r} is not of the form 'role:<id>'.")
            roles.append(item[5:])
    return assertion, roles


def parse_assertion(assertion: str) -> ParsedAssertion:
    """Read the header and claims without trusting them yet; refuse what can never be valid."""
    try:
        decoded = jwt.api_jwt.decode_complete(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenRefused("malformed_jwt", f"The assertion is not a well-formed JWT ({exc}).") from exc
    header, claims = decoded["header"], decoded["payload"]
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise TokenRefused(
            "alg_not_allowed",
            f"Assertion alg {alg!r} is not allowed: sign with your key's registered algorithm (RS256 or ES256).",
        )
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not iss or not isinstance(sub, str) or not sub:
        raise TokenRefused(
            "unknown_issuer", "The assertion must carry iss and sub, both the service account's clientID."
        )
    if iss != sub:
        raise TokenRefused(
            "iss_sub_mismatch", "iss and sub must both be the service account's clientID.", client_id=iss
        )
    key_id = claims.get("key") or header.get("kid")
    if not isinstance(key_id, str) or not key_id:
        raise TokenRefused(
            "unknown_key", "The assertion names no key: put the keyID in the 'key' claim.", client_id=iss
        )
    signing_input = assertion.rsplit(".", 1)[0].encode()
    return ParsedAssertion(assertion, header, claims, alg, iss, key_id, signing_input, decoded["signature"])


def verify_assertion_signature(parsed: ParsedAssertion, *, algorithm: str, public_key: Any, audience: str) -> None:
    """Signature by the registered key with its registered algorithm, and the exact audience."""
    if parsed.alg != algorithm:
        raise TokenRefused(
            "alg_mismatch",
            f"Assertion alg {parsed.alg!r} does not match the key's registered algorithm {algorithm!r}.",
            client_id=parsed.client_id,
        )
    try:
        valid = _ALGORITHMS[algorithm].verify(parsed.signing_input, public_key, parsed.signature)
    except (ValueError, TypeError) as exc:
        raise TokenRefused(
            "malformed_jwt", f"The assertion could not be verified ({exc}).", client_id=parsed.client_id
        ) from exc
    if not valid:
        raise TokenRefused(
            "bad_signature",
            f"The assertion's signature does not verify with key {parsed.key_id}.",
            client_id=parsed.client_id,
        )
    aud = parsed.claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise TokenRefused(
            "wrong_audience", f"aud must be exactly this server's token URI, {audience}.", client_id=parsed.client_id
        )


def _numeric(claims: dict[str, Any], name: str, client_id: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRefused(
            "malformed_jwt", f"The {name} claim must be a number of seconds since the epoch.", client_id=client_id
        )
    return float(value)


def check_assertion_times(parsed: ParsedAssertion, *, now: float, skew: int, max_lifetime: int) -> float:
    """exp required, not past, at most ``max_lifetime`` ahead; nbf and iat not in the future. Returns exp."""
    cid = parsed.client_id
    exp = _numeric(parsed.claims, "exp", cid)
    if exp is None:
        raise TokenRefused("missing_exp", "The assertion has no exp claim; it is required.", client_id=cid)
    if exp <= now - skew:
        raise TokenRefused("expired", "The assertion has expired (exp is in the past).", client_id=cid)
    if exp > now + max_lifetime + skew:
        raise TokenRefused(
            "exp_too_far",
            f"exp is more than {max_lifetime // 60} minutes ahead; sign a shorter-lived assertion.",
            client_id=cid,
        )
    for name in ("nbf", "iat"):
        value = _numeric(parsed.claims, name, cid)
        if value is not None and value > now + skew:
            raise TokenRefused(f"{name}_in_future", f"The assertion's {name} is in the future.", client_id=cid)
    return exp


def validate_ctx(ctx: Any) -> Any:
    """The optional ``ctx`` claim (Skyflow v2): a string, bool, number or a flat object of those."""
    if ctx is None or isinstance(ctx, str | bool | int | float):
        return ctx
    if isinstance(ctx, dict):
        for key, value in ctx.items():
            if not isinstance(key, str) or not key.replace("_", "").isalnum() or not key.isascii():
                raise TokenRefused("malformed_jwt", f"ctx key {key!r} must match ^[A-Za-z0-9_]+$.")
            if not (value is None or isinstance(value, str | bool | int | float)):
                raise TokenRefused("malformed_jwt", f"ctx value of {key!r} must be a string, number or boolean.")
        return ctx
    raise TokenRefused("malformed_jwt", "ctx must be a string, number, boolean or a flat object.")


@dataclass(frozen=True)
class AccessTokenClaims:
    sub: str
    key: str
    jti: str
    exp: int
    iat: int
    roles: tuple[str, ...] | None = None
    ctx: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def issue_access_token(
    *,
    kid: str,
    private_key: Any,
    issuer: str,
    client_id: str,
    key_id: str,
    now: int,
    ttl: int,
    roles: list[str] | None,
    ctx: Any,
) -> tuple[str, dict[str, Any]]:
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": issuer,
        "sub": client_id,
        "typ": "sa",
        "key": key_id,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
    }
    if roles:
        claims["roles"] = roles
    if ctx is not None:
        claims["ctx"] = ctx
    token = jwt.encode(claims, private_key, algorithm="ES256", headers={"kid": kid, "typ": "JWT"})
    return token, claims


def decode_access_token(token: str, *, key_for_kid: Any, issuer: str, leeway: int) -> dict[str, Any]:
    """Verify one of our own access tokens (signature, iss, aud, exp). Raises TokenRefused."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenRefused("malformed_token", "The bearer token is not a JWT issued by this server.") from exc
    if header.get("alg") != "ES256":
        raise TokenRefused("malformed_token", "The bearer token is not signed by this server (alg).")
    key = key_for_kid(header.get("kid") or "")
    if key is None:
        raise TokenRefused("unknown_signing_key", "The bearer token is signed by an unknown key.")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["ES256"],
            audience=issuer,
            issuer=issuer,
            leeway=leeway,
            options={"require": ["exp", "sub", "key", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenRefused("token_expired", "The bearer token has expired; get a new one.") from exc
    except jwt.PyJWTError as exc:
        raise TokenRefused("invalid_token", f"The bearer token is invalid ({exc}).") from exc
    if claims.get("typ") != "sa":
        raise TokenRefused("invalid_token", "The bearer token is not a service-account access token.")
    return claims
