import json

import pytest

pytestmark = pytest.mark.django_db


def test_token_roundtrip(service_account_factory, token_for, api):
    account, key, creds = service_account_factory(roles=("AUDITOR",))
    token = token_for(creds)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    r = api.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r["Content-Type"] == "application/json"
    assert r.json()["error"]["http_code"] == 404
    assert r["X-Request-Id"]
    from audit.services import audit_verify
    res = audit_verify()
    assert res.valid and res.checked >= 3, res
