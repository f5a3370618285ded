"""Fixtures for the policy API tests: a vault with a realistic schema, callers by role, an expired token."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from tests.management.support import client_with

PERSONS = {
    "tables": [
        {
            "name": "persons",
            "columns": [
                {"name": "name", "data_type": "string", "encrypted": True},
                {"name": "email", "data_type": "email", "encrypted": True, "searchable": True},
                {
                    "name": "ssn",
                    "data_type": "ssn",
                    "encrypted": True,
                    "searchable": True,
                    "default_redaction": "MASKED",
                },
                {"name": "region", "data_type": "string", "encrypted": False, "default_redaction": "PLAIN_TEXT"},
                {"name": "vip", "data_type": "boolean", "encrypted": False, "default_redaction": "PLAIN_TEXT"},
            ],
        }
    ]
}

SKYFLOW_EXAMPLE = "ALLOW READ ON persons.name, persons.region WITH REDACTION = PLAIN_TEXT WHERE persons.region = 'EU'"
# Valid against PERSONS; line 2 tests `vip`, which the schema-drop test removes.
V1_SOURCE = (
    "# support agents\n"
    "ALLOW READ ON persons.name, persons.email WITH REDACTION = PLAIN_TEXT\n"
    "DENY READ ON persons.ssn WHERE persons.vip = TRUE\n"
)
V2_SOURCE = "# support agents, masked\nALLOW READ ON persons.name, persons.email WITH REDACTION = MASKED\n"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def vault_factory(actor) -> Callable[..., Any]:
    from vaults.schema import parse_schema
    from vaults.services import vault_create

    def make(name: str = "customers", schema: dict[str, Any] = PERSONS) -> Any:
        return vault_create(actor=actor, name=name, schema=parse_schema(schema))

    return make


@pytest.fixture
def vault(vault_factory) -> Any:
    return vault_factory()


@pytest.fixture
def client_for(service_account_factory, token_for, actor) -> Callable[..., APIClient]:
    """An API client whose service account holds the given built-in roles (VAULT_OWNER scoped to
    ``vault`` when one is given)."""

    def make(*roles: str, vault: Any = None) -> APIClient:
        from policies.models import Role
        from policies.services import binding_create

        account, _key, credentials = service_account_factory(algorithm="ES256", roles=roles)
        if vault is not None:
            binding_create(
                actor=actor, role=Role.objects.get(name="VAULT_OWNER"), service_account=account, vault_id=str(vault.id)
            )
        return client_with(token_for(credentials))

    return make


@pytest.fixture
def owner(client_for) -> APIClient:
    return client_for("VAULT_OWNER")


@pytest.fixture
def expired_owner_token(service_account_factory) -> str:
    """A token of a VAULT_OWNER account, signed by the server's own key, that expired an hour ago."""
    from accounts.signing import active_signer
    from accounts.tokens import issue_access_token

    account, key, _credentials = service_account_factory(algorithm="ES256", roles=("VAULT_OWNER",))
    kid, private_key = active_signer()
    token, _claims = issue_access_token(
        kid=kid,
        private_key=private_key,
        issuer=django_settings.VAULTSTUDIO_BASE_URL,
        client_id=str(account.client_id),
        key_id=str(key.key_id),
        now=int(time.time()) - 2 * 3600,
        ttl=900,
        roles=None,
        ctx=None,
    )
    return token


@pytest.fixture
def policy_factory(actor, vault) -> Callable[..., Any]:
    from policies.services import policy_create

    def make(name: str = "support", source: str = V1_SOURCE, target: Any = None, **fields: Any) -> Any:
        return policy_create(actor=actor, vault=target or vault, name=name, source=source, **fields)

    return make
