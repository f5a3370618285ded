"""Helpers for the sign-in tests: TOTP codes computed from a device's secret, and the login pages
driven through Django's test client."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings
from django_otp.oath import hotp

from accounts.models import TOTPDevice
from tests.studio_support import PASSWORD

ME = "/studio/me/"


@pytest.fixture(autouse=True)
def _fast_hashing_and_fresh_lockouts(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def current_step(device: TOTPDevice) -> int:
    return int((time.time() - device.t0) // device.step)


def totp_code(device: TOTPDevice, *, step: int | None = None) -> str:
    """What an authenticator app shows for ``device`` at time step ``step`` (default: now)."""
    counter = current_step(device) if step is None else step
    return f"{hotp(device.bin_key, counter, digits=device.digits):0{device.digits}d}"


def fresh_code(device: TOTPDevice) -> str:
    """A code the device has not accepted yet: the current step's, or the next step's when the
    current one is spent (TOTPDevice accepts one step of clock drift, and never a step twice)."""
    device.refresh_from_db()
    return totp_code(device, step=max(current_step(device), device.last_t + 1))


def post_password(client: Any, email: str, password: str = PASSWORD, next_url: str = ME) -> Any:
    return client.post("/studio/login/", {"email": email, "password": password, "next": next_url})


def post_totp(client: Any, code: str, next_url: str = ME, url: str = "/studio/mfa/") -> Any:
    return client.post(url, {"method": "totp", "totp-code": code, "next": next_url})


def post_backup(client: Any, code: str, next_url: str = ME, url: str = "/studio/mfa/") -> Any:
    return client.post(url, {"method": "backup", "backup-code": code, "next": next_url})


def sign_in(client: Any, user: Any, device: TOTPDevice | None = None) -> Any:
    """Password then TOTP through the pages; returns the MFA step's response."""
    device = device or TOTPDevice.objects.get(user=user, confirmed=True)
    assert post_password(client, user.email).status_code == 302
    return post_totp(client, fresh_code(device))


def session_key(client: Any) -> str | None:
    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return cookie.value if cookie else None
