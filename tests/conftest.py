"""Shared test harness: settings for tests, factories for service accounts and tokens, and the
append-only audit triggers kept in place around transactional tests.

The same suite runs on SQLite (default) and on PostgreSQL/Redis when DATABASE_URL / REDIS_URL
point at them (``.ci/run`` does both).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connections
from django.test import TransactionTestCase
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.db import drop_append_only_triggers, install_append_only_triggers

TEST_MASTER_KEY = base64.b64encode(b"k" * 32).decode()
TEST_BASE_URL = "http://testserver"
TOKEN_URI = TEST_BASE_URL + "/v1/auth/sa/oauth/token"

# --- transactional tests must empty the append-only audit table between tests ---------------------
_original_fixture_teardown = TransactionTestCase._fixture_teardown


def _fixture_teardown_with_audit_triggers(self: TransactionTestCase) -> None:
    aliases = list(self._databases_names(include_mirrors=False))
    for alias in aliases:
        drop_append_only_triggers(connections[alias])
    try:
        _original_fixture_teardown(self)
    finally:
        for alias in aliases:
            install_append_only_triggers(connections[alias])


TransactionTestCase._fixture_teardown = _fixture_teardown_with_audit_triggers  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _vaultstudio_settings(settings: Any) -> None:
    from accounts import authentication, signing
    from vaults.crypto.config import get_keyring
    from vaultstudio.master_key import load_master_key

    settings.VAULTSTUDIO_MASTER_KEY = TEST_MASTER_KEY
    settings.VAULTSTUDIO_BASE_URL = TEST_BASE_URL
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    load_master_key.cache_clear()
    get_keyring.cache_clear()
    signing.forget_cached_keys()
    authentication.verified_claims.clear()


@pytest.fixture
def actor() -> Actor:
    return Actor.cli("pytest")


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def service_account_factory(actor: Actor) -> Callable[..., Any]:
    """Make a service account with a generated key; returns (account, key, credentials dict)."""
    from accounts import services

    def make(name: str | None = None, *, algorithm: str = "RS256", roles: tuple[str, ...] = (), **fields: Any):
        account = services.service_account_create(actor=actor, name=name or f"sa-{uuid.uuid4().hex[:8]}", **fields)
        key, credentials = services.service_account_key_generate(actor=actor, account=account, algorithm=algorithm)
        if roles:
            from policies import services as policy_services
            from policies.models import Role

            for role_name in roles:
                policy_services.binding_create(
                    actor=actor, role=Role.objects.get(name=role_name), service_account=account
                )
        return account, key, credentials

    return make


def make_assertion(
    credentials: dict[str, str],
    *,
    algorithm: str | None = None,
    signing_key: Any = None,
    headers: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    **claims: Any,
) -> str:
    """Sign an assertion the way Skyflow's SDKs do, with any claim overridden or dropped."""
    body: dict[str, Any] = {
        "iss": credentials["clientID"],
        "key": credentials["keyID"],
        "aud": credentials["tokenURI"],
        "sub": credentials["clientID"],
        "exp": int(time.time()) + 3600,
        # Skyflow's SDKs send no jti; RS256 signatures are deterministic, so two assertions made in
        # the same second would be byte-identical (and the second a replay). Tests want distinct ones.
        "jti": str(uuid.uuid4()),
    }
    body.update(claims)
    for name in drop:
        body.pop(name, None)
    alg = algorithm or key_algorithm(credentials["privateKey"])
    return jwt.encode(
        body, signing_key if signing_key is not None else credentials["privateKey"], algorithm=alg, headers=headers
    )


def key_algorithm(private_pem: str) -> str:
    loaded = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return "ES256" if isinstance(loaded, ec.EllipticCurvePrivateKey) else "RS256"


@pytest.fixture
def assertion_for() -> Callable[..., str]:
    return make_assertion


@pytest.fixture
def token_for(api: APIClient) -> Callable[..., str]:
    """Get an access token for credentials through the real token endpoint."""

    def get(credentials: dict[str, str], **body: Any) -> str:
        payload = {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": make_assertion(credentials),
            **body,
        }
        response = api.post("/v1/auth/sa/oauth/token", data=json.dumps(payload), content_type="application/json")
        assert response.status_code == 200, response.content
        return response.json()["accessToken"]

    return get
