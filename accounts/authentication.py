"""DRF authentication by VaultStudio access tokens, re-checked on every request (DESIGN.md §3.2).

A token's signature and claims are verified once and cached for the token's life (process-local:
that is only a cache of a pure computation). What can change — the account's active flag, the
key's revocation and expiry, the IP allowlist — is checked on every request, against the key and
account rows as of the shared version key (``policies.services.policy_version``, read once per
request; DESIGN.md §16: "re-check revocation state (a cached version key) on every request").
Every change to them bumps that key on commit, so a revocation in any worker applies to the very
next request everywhere; the rows are read again when the version moved, and at least every few
seconds in any case (``accounts.selectors.CURRENT_KEY_MAX_AGE``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header

from policies.services import policy_version
from vaultstudio.errors import Unauthenticated
from vaultstudio.net import client_ip, ip_allowed

from . import signing
from .principals import ServiceAccountPrincipal
from .selectors import service_account_key_current
from .tokens import TokenRefused, decode_access_token

_MAX_CACHED = 10_000


class _ClaimsCache:
    def __init__(self) -> None:
        self._items: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            claims = self._items.get(token)
            if claims is not None:
                self._items.move_to_end(token)
            return claims

    def put(self, token: str, claims: dict[str, Any]) -> None:
        with self._lock:
            self._items[token] = claims
            if len(self._items) > _MAX_CACHED:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


verified_claims = _ClaimsCache()


def authenticate_access_token(token: str, ip: str) -> ServiceAccountPrincipal:
    """Verify an access token and re-check its account and key now. Raises TokenRefused."""
    claims = verified_claims.get(token)
    if claims is None:
        claims = decode_access_token(
            token,
            key_for_kid=signing.verification_key,
            issuer=settings.VAULTSTUDIO_BASE_URL,
            leeway=settings.VAULTSTUDIO_CLOCK_SKEW,
        )
        verified_claims.put(token, claims)
    elif claims["exp"] + settings.VAULTSTUDIO_CLOCK_SKEW < time.time():
        raise TokenRefused("token_expired", "The bearer token has expired; get a new one.")
    version = policy_version()
    key = service_account_key_current(claims["key"], claims["sub"], version)
    if key is None:
        raise TokenRefused("unknown_key", "The key behind this token no longer exists.")
    account = key.service_account
    if not account.is_active:
        raise TokenRefused("account_inactive", "This service account is deactivated.")
    if key.revoked_at is not None:
        raise TokenRefused("key_revoked", "The key behind this token has been revoked.")
    if key.expires_at <= timezone.now():
        raise TokenRefused("key_expired", "The key behind this token has expired.")
    if not ip_allowed(ip, account.ip_allowlist):
        raise TokenRefused("ip_not_allowed", f"Requests from {ip} are outside this account's IP allowlist.")
    return ServiceAccountPrincipal(service_account=account, key=key, claims=claims, version=version)


class ServiceAccountTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Any) -> tuple[ServiceAccountPrincipal, dict[str, Any]] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise Unauthenticated("The Authorization header must be 'Bearer <accessToken>'.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise Unauthenticated("The bearer token must be ASCII.") from exc
        try:
            principal = authenticate_access_token(token, client_ip(request._request))
        except TokenRefused as exc:
            raise Unauthenticated(exc.message) from exc
        return principal, principal.claims

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="vaultstudio"'


class VerifiedSessionAuthentication(SessionAuthentication):
    """A person's studio session on the management API — only once it has passed MFA (zero trust:
    a password alone reaches nothing). CSRF is enforced exactly as DRF's SessionAuthentication does."""

    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        user = getattr(request._request, "user", None)
        if not user or not user.is_active:
            return None
        is_verified = getattr(user, "is_verified", None)
        if is_verified is None or not is_verified():
            return None
        self.enforce_csrf(request)
        return user, None


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    """OpenAPI: the studio's session cookie (MFA-verified), as drf-spectacular describes DRF's own."""

    target_class = "accounts.authentication.VerifiedSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
