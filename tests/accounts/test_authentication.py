"""Bearer access tokens are re-checked on every request: revocation, deactivation, allowlist, forgery."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from accounts import signing
from accounts.services import service_account_key_revoke, service_account_update
from tests.conftest import TEST_BASE_URL

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.probe_urls")]
WHOAMI = "/api/v1/_probe/whoami"


def call(api, token, **extra):
    return api.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


def assert_401(response, text):
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["http_code"] == 401 and text.lower() in error["message"].lower(), error["message"]


@pytest.fixture
def sa(service_account_factory):
    return service_account_factory()


def test_valid_token_authenticates(api, sa, token_for):
    account, _, creds = sa
    response = call(api, token_for(creds))
    assert response.status_code == 200 and response.json()["client_id"] == str(account.client_id)


def test_no_token_is_401(api):
    assert_401(api.get(WHOAMI), "Authentication")


def test_revoking_the_key_kills_an_unexpired_token_on_the_next_request(api, sa, token_for, actor):
    _, key, creds = sa
    token = token_for(creds)
    assert call(api, token).status_code == 200
    service_account_key_revoke(actor=actor, key=key)
    assert_401(call(api, token), "revoked")


def test_deactivating_the_account_kills_its_tokens_on_the_next_request(api, sa, token_for, actor):
    account, _, creds = sa
    token = token_for(creds)
    assert call(api, token).status_code == 200
    service_account_update(actor=actor, account=account, is_active=False)
    assert_401(call(api, token), "deactivated")
    service_account_update(actor=actor, account=account, is_active=True)
    assert call(api, token).status_code == 200


def test_key_expiring_after_issuance_kills_the_token(api, sa, token_for):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import ServiceAccountKey

    _, key, creds = sa
    token = token_for(creds)
    ServiceAccountKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_401(call(api, token), "expired")


def test_a_revocation_by_another_worker_applies_here_on_its_version_bump(
    api, sa, token_for, django_capture_on_commit_callbacks
):
    """This process holds the key row under the shared version; another worker's revocation reaches
    it through the version bump that worker makes on commit (simulated: the row changed, then the bump)."""
    from django.utils import timezone

    from accounts.models import ServiceAccountKey
    from policies.services import bump_policy_version

    _, key, creds = sa
    token = token_for(creds)
    assert call(api, token).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        ServiceAccountKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
        bump_policy_version()
    assert_401(call(api, token), "revoked")


def test_key_rows_are_read_again_after_their_max_age_even_without_a_bump(api, sa, token_for, monkeypatch):
    """The backstop for a lost bump (Redis down at commit, a crash between commit and bump)."""
    from django.utils import timezone

    from accounts.models import ServiceAccountKey
    from accounts.selectors import CURRENT_KEY_MAX_AGE
    from vaultstudio import versioned

    _, key, creds = sa
    token = token_for(creds)
    assert call(api, token).status_code == 200
    ServiceAccountKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    later = time.monotonic() + CURRENT_KEY_MAX_AGE + 1
    monkeypatch.setattr(versioned.time, "monotonic", lambda: later)
    assert_401(call(api, token), "revoked")


def test_allowlist_is_rechecked_per_request(api, sa, token_for, actor):
    account, _, creds = sa
    token = token_for(creds)
    service_account_update(actor=actor, account=account, ip_allowlist=["10.0.0.0/8"])
    assert_401(call(api, token), "allowlist")
    assert call(api, token, REMOTE_ADDR="10.9.9.9").status_code == 200


def test_expired_access_token_refused(api, sa):
    account, key, _ = sa
    kid, private = signing.active_signer()
    from accounts.tokens import issue_access_token

    token, _ = issue_access_token(
        kid=kid,
        private_key=private,
        issuer=TEST_BASE_URL,
        client_id=str(account.client_id),
        key_id=str(key.key_id),
        now=int(time.time()) - 7200,
        ttl=900,
        roles=None,
        ctx=None,
    )
    assert_401(call(api, token), "expired")


def test_token_signed_by_a_foreign_key_with_our_kid_refused(api, sa):
    account, key, _ = sa
    kid, _ = signing.active_signer()
    foreign = ec.generate_private_key(ec.SECP256R1())
    pem = foreign.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(time.time())
    claims = {
        "iss": TEST_BASE_URL,
        "aud": TEST_BASE_URL,
        "sub": str(account.client_id),
        "typ": "sa",
        "key": str(key.key_id),
        "iat": now,
        "exp": now + 600,
        "jti": "x",
    }
    token = jwt.encode(claims, pem, algorithm="ES256", headers={"kid": kid})
    assert_401(call(api, token), "invalid")


def test_alg_none_access_token_refused(api, sa):
    account, key, _ = sa

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    claims = {
        "iss": TEST_BASE_URL,
        "aud": TEST_BASE_URL,
        "sub": str(account.client_id),
        "typ": "sa",
        "key": str(key.key_id),
        "exp": int(time.time()) + 600,
        "jti": "x",
    }
    assert_401(call(api, b64({"alg": "none"}) + "." + b64(claims) + "."), "not signed by this server")


def test_tampered_claims_refused(api, service_account_factory, token_for):
    _, _, creds = service_account_factory()
    other, _, _ = service_account_factory()
    header, payload, sig = token_for(creds).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = str(other.client_id)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_401(call(api, f"{header}.{forged}.{sig}"), "invalid")


def test_assertion_is_not_an_access_token(api, sa, assertion_for):
    _, _, creds = sa
    assert_401(call(api, assertion_for(creds)), "not signed by this server")


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer \u00e9t\u00e9"])
def test_malformed_authorization_header(api, header):
    response = api.get(WHOAMI, HTTP_AUTHORIZATION=header.encode("utf-8").decode("latin-1"))
    assert response.status_code == 401 and response.json()["error"]["http_code"] == 401


def test_tokens_survive_a_signing_key_rotation_and_jwks_publishes_both(api, sa, token_for, actor):
    _, _, creds = sa
    old = token_for(creds)
    old_kid = jwt.get_unverified_header(old)["kid"]
    new_key = signing.signing_key_rotate(actor=actor)
    assert call(api, old).status_code == 200
    new = token_for(creds)
    assert jwt.get_unverified_header(new)["kid"] == new_key.kid != old_kid
    assert call(api, new).status_code == 200
    kids = {k["kid"] for k in api.get("/.well-known/jwks.json").json()["keys"]}
    assert {old_kid, new_key.kid} <= kids


def test_jwks_verifies_issued_tokens(api, sa, token_for):
    _, _, creds = sa
    token = token_for(creds)
    jwks = api.get("/.well-known/jwks.json").json()
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and jwk["alg"] == "ES256" and "d" not in jwk
    public = jwt.PyJWK(jwk).key
    claims = jwt.decode(token, public, algorithms=["ES256"], audience=TEST_BASE_URL)
    assert claims["sub"] == creds["clientID"]


def test_signing_private_key_is_stored_only_wrapped(sa, token_for):
    from accounts.models import SigningKey

    _, _, creds = sa
    token_for(creds)
    for key in SigningKey.objects.all():
        assert "PRIVATE KEY" not in key.private_key_wrapped
        assert "BEGIN" not in base64.b64decode(key.private_key_wrapped).decode("latin-1")


def test_narrowed_token_and_ctx_are_visible_to_the_view(api, service_account_factory):
    from policies.models import Role
    from tests.conftest import make_assertion

    _, _, creds = service_account_factory(roles=("AUDITOR",))
    role = Role.objects.get(name="AUDITOR")
    body = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "scope": f"role:{role.id}",
        "assertion": make_assertion(creds, ctx={"agent_id": "a1"}),
    }
    token = api.post("/v1/auth/sa/oauth/token", body, format="json").json()["accessToken"]
    data = call(api, token).json()
    assert data["roles"] == [str(role.id)] and data["ctx"] == {"agent_id": "a1"}


def test_claims_cache_does_not_outlive_the_token(api, sa, settings):
    """A cached verification must still enforce exp."""
    from accounts import authentication
    from accounts.tokens import issue_access_token

    account, key, _ = sa
    kid, private = signing.active_signer()
    token, claims = issue_access_token(
        kid=kid,
        private_key=private,
        issuer=TEST_BASE_URL,
        client_id=str(account.client_id),
        key_id=str(key.key_id),
        now=int(time.time()),
        ttl=900,
        roles=None,
        ctx=None,
    )
    assert call(api, token).status_code == 200
    authentication.verified_claims.put(token, {**claims, "exp": int(time.time()) - 3600})
    assert_401(call(api, token), "expired")
