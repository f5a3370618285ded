"""The policy and role studio pages' tests: the real URL map plus stand-ins for pages not merged yet."""

from __future__ import annotations

from typing import Any

import pytest

from tests.vaults.studio.support import STUB_URLCONF


@pytest.fixture(autouse=True)
def _studio_settings(settings: Any) -> None:
    settings.ROOT_URLCONF = STUB_URLCONF
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
