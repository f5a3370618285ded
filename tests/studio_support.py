"""Helpers for studio tests: people with roles and MFA devices, and logged-in, MFA-verified sessions
(for Django's test client and for a browser), without going through the login pages each time.

The login pages themselves are tested end to end in tests/accounts and tests/e2e; these helpers set
up the same session state those pages leave behind: Django's login, django-otp's verified device,
and the time of the last MFA check (``accounts.stepup``).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import TOTPDevice, User, UserSession
from accounts.sessions import LOGIN_AT_SESSION_KEY, SEEN_AT_SESSION_KEY
from accounts.stepup import MFA_AT_SESSION_KEY
from policies.models import Role, RoleBinding

PASSWORD = "correct horse battery staple 42"


def make_person(
    email: str,
    *,
    roles: tuple[str, ...] = (),
    mfa: str | None = "totp",
    password: str = PASSWORD,
    superuser: bool = False,
    **fields: Any,
) -> User:
    """A person with the named roles (built-in or custom, by role name) and, with ``mfa="totp"``, a
    confirmed TOTP device."""
    if superuser:
        user = User.objects.create_superuser(email, password, **fields)
    else:
        user = User.objects.create_user(email, password, **fields)
    for name in roles:
        RoleBinding.objects.create(role=Role.objects.get(name=name), user=user)
    if mfa == "totp":
        TOTPDevice.objects.create_sealed(user=user, name="Authenticator app", confirmed=True)
    return user


def verified_device(user: User) -> Any:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create_sealed(user=user, name="Authenticator app", confirmed=True)
    return device


def session_state(user: User, *, mfa_recent: bool = True) -> dict[str, Any]:
    """What a completed password + MFA login leaves in the session."""
    now = time.time()
    state: dict[str, Any] = {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
        DEVICE_ID_SESSION_KEY: verified_device(user).persistent_id,
        MFA_AT_SESSION_KEY: now if mfa_recent else now - settings.VAULTSTUDIO_STEP_UP_SECONDS - 60,
        LOGIN_AT_SESSION_KEY: now,  # accounts.middleware: idle and absolute lifetimes
        SEEN_AT_SESSION_KEY: now,
    }
    return state


def _new_session(user: User, *, mfa_recent: bool) -> str:
    store = SessionStore()
    store.update(session_state(user, mfa_recent=mfa_recent))
    store.create()
    UserSession.objects.create(user=user, session_key=store.session_key)
    return str(store.session_key)


def password_only_client(client: Any, user: User) -> Any:
    """Log ``client`` in as ``user`` with the password step done and no MFA check yet."""
    client.force_login(user)
    session = client.session
    session[LOGIN_AT_SESSION_KEY] = session[SEEN_AT_SESSION_KEY] = time.time()
    session.save()
    return client


def login_client(client: Any, user: User, *, mfa_recent: bool = True) -> Any:
    """Log ``client`` (Django's test Client) in as ``user``, MFA passed; returns the client."""
    client.cookies[settings.SESSION_COOKIE_NAME] = _new_session(user, mfa_recent=mfa_recent)
    return client


def browser_session_cookie(user: User, base_url: str, *, mfa_recent: bool = True) -> dict[str, Any]:
    """A cookie for Playwright's ``context.add_cookies`` that logs the browser in as ``user``."""
    return {"name": settings.SESSION_COOKIE_NAME, "value": _new_session(user, mfa_recent=mfa_recent), "url": base_url}
