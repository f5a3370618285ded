"""Skyflow's official Python SDK 2.x gets tokens from a live VaultStudio, from a generated credentials.json.

The SDK insists on an https token URI; as SKYFLOW_WIRE.md §1 says, the check is patched for the
local http test server. Nothing else about the SDK is changed.
"""

from __future__ import annotations

import json

import pytest
import requests

skyflow_sa = pytest.importorskip(
    "skyflow.service_account._utils", reason="needs the skyflow 2.x SDK (requirements-dev.txt)"
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live(live_server, settings, monkeypatch):
    settings.VAULTSTUDIO_BASE_URL = live_server.url
    monkeypatch.setattr(skyflow_sa, "is_valid_url", lambda url: True)
    return live_server.url


@pytest.fixture
def credentials_file(live, tmp_path, actor):
    from accounts.services import service_account_create, service_account_key_generate

    account = service_account_create(actor=actor, name="skyflow-sdk-app")
    _, credentials = service_account_key_generate(actor=actor, account=account)
    assert credentials["tokenURI"] == live + "/v1/auth/sa/oauth/token"
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(credentials))
    return account, path


def whoami(base_url: str, token: str) -> requests.Response:
    # The audit API needs a role; an authenticated call without one is a 403, without a token a 401.
    return requests.post(base_url + "/api/v1/audit/verify", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_generate_bearer_token_from_credentials_file(live, credentials_file):
    from skyflow.service_account import is_expired

    account, path = credentials_file
    token, token_type = skyflow_sa.generate_bearer_token(str(path))
    assert token_type == "Bearer"
    assert not is_expired(token)
    import jwt

    assert jwt.decode(token, options={"verify_signature": False})["sub"] == str(account.client_id)
    assert whoami(live, token).status_code in (200, 403)  # authenticated (role or not), never 401


def test_sdk_role_ids_and_ctx_options(live, credentials_file, actor):
    import jwt

    from policies.models import Role
    from policies.services import binding_create

    account, path = credentials_file
    role = Role.objects.get(name="AUDITOR")
    binding_create(actor=actor, role=role, service_account=account)
    token, _ = skyflow_sa.generate_bearer_token(str(path), {"role_ids": [str(role.id)], "ctx": {"agent_id": "a7"}})
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["roles"] == [str(role.id)] and claims["ctx"] == {"agent_id": "a7"}
    assert whoami(live, token).status_code == 200


def test_sdk_reports_a_refusal(live, credentials_file, actor):
    from skyflow.error import SkyflowError

    from accounts.services import service_account_update

    account, path = credentials_file
    service_account_update(actor=actor, account=account, is_active=False)
    with pytest.raises(SkyflowError) as raised:
        skyflow_sa.generate_bearer_token(str(path))
    assert "Authorization failed" in str(raised.value.message)
