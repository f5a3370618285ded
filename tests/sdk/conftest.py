"""Live-server fixtures for driving Skyflow's official SDKs against VaultStudio.

The SDKs are real HTTP clients, so these tests run against ``live_server`` (a real socket, a real
WSGI stack) rather than the test client. Everything the SDKs need is made here the way an operator
would make it: a vault with the persons schema, a role carrying policy texts bound to a new service
account, and that account's generated ``credentials.json`` written to disk.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.vaults.conftest import PERSONS_SCHEMA

# The policy sets shared by the v1 and v2 suites, so both SDKs are held to the same expectations.
PLAIN_READ = "ALLOW READ ON persons.* WITH REDACTION = PLAIN_TEXT"
MASKED_READ = "ALLOW READ ON persons.* WITH REDACTION = MASKED"
WRITE = "ALLOW CREATE ON persons.*\nALLOW UPDATE ON persons.*\nALLOW DELETE ON persons.*"
DETOKENIZE_PLAIN = "ALLOW DETOKENIZATION ON persons.ssn, persons.card_number WITH REDACTION = PLAIN_TEXT"
DETOKENIZE_MASKED = "ALLOW DETOKENIZATION ON persons.ssn, persons.card_number WITH REDACTION = MASKED"
TOKENIZE = "ALLOW TOKENIZATION ON persons.ssn"

PLAIN_POLICIES = (PLAIN_READ, WRITE, DETOKENIZE_PLAIN, TOKENIZE)
MASKED_POLICIES = (MASKED_READ, DETOKENIZE_MASKED)

ADA = {
    "name": "Ada Lovelace",
    "email": "Ada@Example.com",
    "ssn": "123-45-6789",
    "card_number": "4111111111111111",
    "region": "EU",
    "vip": True,
}
# ADA at MASKED (a MASKED-only caller, whatever it asks for; or anyone asking for MASKED): each
# column's masking preset from PERSONS_SCHEMA (name: initial, email: email, ssn: ssn, card_number:
# first6_last4), and the full mask for region and vip, which have no masking rule of their own.
ADA_MASKED = {
    "name": "A***",
    "email": "A***@Example.com",
    "ssn": "***-**-6789",
    "card_number": "411111******1111",
    "region": "*****",
    "vip": "*****",
}
# ADA at DEFAULT (what a query returns, having no redaction parameter) to a caller granted
# PLAIN_TEXT: each column's own default level — MASKED for name/email/ssn, REDACTED for card_number
# (none set), PLAIN_TEXT for region and vip.
ADA_DEFAULT = {**ADA_MASKED, "card_number": "REDACTED", "region": "EU", "vip": True}
# ...and to a MASKED-only caller: the same, with region and vip capped at MASKED.
ADA_DEFAULT_MASKED = {**ADA_DEFAULT, "region": "*****", "vip": "*****"}


@dataclass
class SdkCaller:
    """A service account holding a role with the given policies, and its credentials.json."""

    account: Any
    credentials: dict[str, str]
    path: Path


@pytest.fixture
def live_base(live_server, settings) -> str:
    # credentials.json's tokenURI (and the assertion audience the server expects) follow
    # VAULTSTUDIO_BASE_URL, so it must be the live server's own URL.
    settings.VAULTSTUDIO_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def sdk_vault(actor, live_base):
    from vaults.schema import parse_schema
    from vaults.services import vault_create

    return vault_create(actor=actor, name=f"sdk-{uuid.uuid4().hex[:6]}", schema=parse_schema(PERSONS_SCHEMA))


@pytest.fixture
def sdk_caller(actor, live_base, tmp_path) -> Callable[..., SdkCaller]:
    """Like ``caller_with`` in tests/vaults/conftest.py, but hands back a credentials file for an SDK."""
    from accounts.services import service_account_create, service_account_key_generate
    from policies.language import compile_policy
    from policies.models import Policy
    from policies.services import binding_create, bump_policy_version, role_create
    from vaults.selectors import schema_info

    def make(vault: Any, *sources: str) -> SdkCaller:
        account = service_account_create(actor=actor, name=f"sdk-{uuid.uuid4().hex[:8]}")
        _, credentials = service_account_key_generate(actor=actor, account=account)
        assert credentials["tokenURI"] == live_base + "/v1/auth/sa/oauth/token"
        role = role_create(actor=actor, name=f"role-{uuid.uuid4().hex[:8]}")
        for i, source in enumerate(sources):
            result = compile_policy(source, schema_info(vault))
            assert result.ok, result.errors
            role.policies.add(
                Policy.objects.create(
                    name=f"p{i}-{uuid.uuid4().hex[:6]}", vault=vault, source=source, compiled=result.compiled.to_json()
                )
            )
        binding_create(actor=actor, role=role, service_account=account)
        # Transactional test: there is no surrounding atomic block, so the on_commit bump runs now
        # and the live server's PDP sees the new policies on its next request.
        bump_policy_version()
        path = tmp_path / f"credentials-{account.client_id}.json"
        path.write_text(json.dumps(credentials))
        return SdkCaller(account=account, credentials=credentials, path=path)

    return make


@pytest.fixture(autouse=True)
def _drop_sdk_connections():
    """After each test, let go of the SDKs' own HTTP clients (the token call's, the high-level API's).

    They keep connections alive; each is served by a live-server thread that holds a database
    connection until its socket closes, and PostgreSQL won't drop the test database while any is
    open. Collecting the unreferenced clients closes their sockets.
    """
    yield
    import gc

    gc.collect()
