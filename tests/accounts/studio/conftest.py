"""Studio page tests: fast password hashing, and (until the auth branch is merged) the stand-in URLs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.studio_urls_stub_studio2 import studio2_stub_urls  # noqa: F401  (autouse fixture)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
