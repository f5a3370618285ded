"""VaultStudio's access-token signing keys: the active one, the published ones, rotation.

Keys live in the database (private halves wrapped under the master key), so every worker signs
with the same key and verifies every published one. Each process caches them briefly; an unknown
``kid`` triggers a reload, so a rotation done in one worker is honoured by all.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_append
from vaultstudio.master_key import load_master_key

from . import keys
from .models import SigningKey

_CACHE_SECONDS = 60.0
_lock = threading.Lock()


@dataclass(frozen=True)
class _Loaded:
    at: float
    active_kid: str
    active_private: Any
    public: dict[str, Any]


_state: _Loaded | None = None


def _published(now: Any) -> list[SigningKey]:
    # A retired key still verifies the tokens it signed until they can no longer be valid.
    grace = timedelta(seconds=settings.VAULTSTUDIO_ACCESS_TOKEN_TTL_MAX + settings.VAULTSTUDIO_CLOCK_SKEW)
    return [k for k in SigningKey.objects.all() if k.retired_at is None or k.retired_at > now - grace]


def _create_key() -> SigningKey:
    kid = secrets.token_urlsafe(16)
    pair = keys.generate_keypair(keys.ES256)
    wrapped = keys.wrap_secret(load_master_key(), pair.private_pem.encode(), kid.encode())
    return SigningKey.objects.create(
        kid=kid, public_key=pair.public_pem, private_key_wrapped=wrapped, activated_at=timezone.now()
    )


def _load() -> _Loaded:
    now = timezone.now()
    published = _published(now)
    active = [k for k in published if k.retired_at is None and k.activated_at is not None]
    if not active:
        with transaction.atomic():
            active = [_create_key()]
            published.append(active[0])
    current = max(active, key=lambda k: k.activated_at or k.created_at)
    private_pem = keys.unwrap_secret(load_master_key(), current.private_key_wrapped, current.kid.encode())
    return _Loaded(
        at=time.monotonic(),
        active_kid=current.kid,
        active_private=keys.load_private_key(private_pem.decode()),
        public={k.kid: keys.load_public_key(k.public_key) for k in published},
    )


def _current(force: bool = False) -> _Loaded:
    global _state
    state = _state
    if force or state is None or time.monotonic() - state.at > _CACHE_SECONDS:
        with _lock:
            state = _state = _load()
    return state


def active_signer() -> tuple[str, Any]:
    state = _current()
    return state.active_kid, state.active_private


def verification_key(kid: str) -> Any | None:
    state = _current()
    key = state.public.get(kid)
    if key is None and time.monotonic() - state.at > 1.0:
        key = _current(force=True).public.get(kid)
    return key


def jwks() -> dict[str, list[dict[str, str]]]:
    return {"keys": [keys.jwk_of(k.kid, k.public_key) for k in _published(timezone.now())]}


def forget_cached_keys() -> None:
    """Drop this process's cache (tests, and right after a rotation)."""
    global _state
    with _lock:
        _state = None


def signing_key_rotate(*, actor: Actor) -> SigningKey:
    """Make a new active signing key; the old one stops signing but keeps verifying for a while."""
    with transaction.atomic():
        retired = list(SigningKey.objects.filter(retired_at__isnull=True).values_list("kid", flat=True))
        SigningKey.objects.filter(kid__in=retired).update(retired_at=timezone.now())
        new = _create_key()
        audit_append(
            actor=actor,
            action="signing_key.rotate",
            resource_type="SIGNING_KEY",
            resource_ids=[new.kid],
            details={"retired": retired},
        )
    forget_cached_keys()
    return new
