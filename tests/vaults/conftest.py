"""Fixtures for the data plane: a vault with a realistic schema, and callers holding given policies."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

PERSONS_SCHEMA = {
    "tables": [
        {
            "name": "persons",
            "columns": [
                {"name": "name", "default_redaction": "MASKED", "masking": {"preset": "initial"}},
                {
                    "name": "email",
                    "data_type": "email",
                    "searchable": True,
                    "unique": True,
                    "default_redaction": "MASKED",
                    "masking": {"preset": "email"},
                },
                {
                    "name": "ssn",
                    "data_type": "ssn",
                    "searchable": True,
                    "tokenization": "UUID",
                    "default_redaction": "MASKED",
                    "masking": {"preset": "ssn"},
                    "column_group": "ssns",
                },
                {
                    "name": "card_number",
                    "data_type": "card_number",
                    "tokenization": "FORMAT_PRESERVING",
                    "masking": {"preset": "first6_last4"},
                },
                {"name": "region", "encrypted": False, "default_redaction": "PLAIN_TEXT"},
                {"name": "vip", "data_type": "boolean", "encrypted": False, "default_redaction": "PLAIN_TEXT"},
            ],
        }
    ]
}


@pytest.fixture
def persons_vault(actor):
    from vaults.schema import parse_schema
    from vaults.services import vault_create

    return vault_create(actor=actor, name=f"people-{uuid.uuid4().hex[:6]}", schema=parse_schema(PERSONS_SCHEMA))


@pytest.fixture
def caller_with(actor, service_account_factory, token_for, django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """A client whose service account holds a custom role carrying the given policy texts."""
    from policies.language import compile_policy
    from policies.models import Policy
    from policies.services import binding_create, bump_policy_version, role_create
    from vaults.selectors import schema_info

    def make(vault: Any, *sources: str, ctx: Any = None) -> APIClient:
        account, _, creds = service_account_factory()
        with django_capture_on_commit_callbacks(execute=True):
            role = role_create(actor=actor, name=f"role-{uuid.uuid4().hex[:8]}")
            for i, source in enumerate(sources):
                result = compile_policy(source, schema_info(vault))
                assert result.ok, result.errors
                role.policies.add(
                    Policy.objects.create(
                        name=f"p{i}-{uuid.uuid4().hex[:6]}",
                        vault=vault,
                        source=source,
                        compiled=result.compiled.to_json(),
                    )
                )
            binding_create(actor=actor, role=role, service_account=account)
            bump_policy_version()
        client = APIClient()
        body = {}
        if ctx is not None:
            from tests.conftest import make_assertion

            token = client.post(
                "/v1/auth/sa/oauth/token",
                {
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": make_assertion(creds, ctx=ctx),
                },
                format="json",
            ).json()["accessToken"]
        else:
            token = token_for(creds, **body)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        client.account = account
        return client

    return make
