"""The vault studio pages' tests: password hashing that does not slow them down."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _studio_settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
