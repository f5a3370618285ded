"""Fixtures for the management API tests: callers with and without ACCOUNT_ADMIN, an expired token,
people and groups (helpers that are not fixtures live in ``support.py``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from .support import client_with


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's deliberate slowness costs a quarter second per person made; hashing isn't under test here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Caller:
    """A service account with a key, its credentials.json and a live access token."""

    account: Any
    key: Any
    credentials: dict[str, str]
    token: str

    def client(self) -> APIClient:
        return client_with(self.token)


@pytest.fixture
def caller_factory(service_account_factory, token_for) -> Callable[..., Caller]:
    """A caller holding the given built-in roles; ES256 keys, because RSA generation is slow."""

    def make(*roles: str, name: str | None = None, algorithm: str = "ES256") -> Caller:
        account, key, credentials = service_account_factory(name, algorithm=algorithm, roles=roles)
        return Caller(account, key, credentials, token_for(credentials))

    return make


@pytest.fixture
def admin(caller_factory) -> Caller:
    return caller_factory("ACCOUNT_ADMIN", name="admin-app")


@pytest.fixture
def admin_api(admin) -> APIClient:
    return admin.client()


@pytest.fixture
def expired_token(admin) -> str:
    """A token for the ACCOUNT_ADMIN account, signed by the server's own key, that expired an hour ago."""
    from accounts.signing import active_signer
    from accounts.tokens import issue_access_token

    kid, private_key = active_signer()
    token, _claims = issue_access_token(
        kid=kid,
        private_key=private_key,
        issuer=settings.VAULTSTUDIO_BASE_URL,
        client_id=str(admin.account.client_id),
        key_id=str(admin.key.key_id),
        now=int(time.time()) - 2 * 3600,
        ttl=900,
        roles=None,
        ctx=None,
    )
    return token


@pytest.fixture
def user_factory() -> Callable[..., Any]:
    from accounts.models import User

    def make(email: str | None = None, **fields: Any) -> Any:
        fields.setdefault("password", "correct horse battery staple")
        return User.objects.create_user(email or f"person-{uuid.uuid4().hex[:8]}@example.com", **fields)

    return make


@pytest.fixture
def group_factory(user_factory) -> Callable[..., Any]:
    from accounts.models import Group

    def make(name: str | None = None, members: tuple[Any, ...] = (), **fields: Any) -> Any:
        group = Group.objects.create(name=name or f"group-{uuid.uuid4().hex[:8]}", **fields)
        group.members.set(members)
        return group

    return make
