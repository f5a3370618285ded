"""POST /v1/auth/sa/oauth/token: every way an assertion is refused, each with its reason, audited."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.utils import timezone

from accounts.models import ServiceAccountKey
from audit.models import AuditEvent
from tests.conftest import TOKEN_URI, make_assertion

pytestmark = pytest.mark.django_db
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
URL = "/v1/auth/sa/oauth/token"


def post(api, body, content_type="application/json", **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.post(URL, data=data, content_type=content_type, **extra)


def exchange(api, assertion, **extra):
    return post(api, {"grant_type": GRANT, "assertion": assertion}, **extra)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _pem(private_key) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def refused(response, reason_text: str, reason_code: str):
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["http_code"] == 401 and error["grpc_code"] == 16 and error["http_status"] == "Unauthorized"
    assert reason_text.lower() in error["message"].lower(), error["message"]
    event = AuditEvent.objects.filter(action="auth.token.refuse").order_by("-seq").first()
    assert event is not None and json.loads(event.details)["reason"] == reason_code
    assert event.decision == "DENY" and event.http_status == 401
    assert "accessToken" not in response.json()


@pytest.fixture
def sa(service_account_factory):
    return service_account_factory()


# --- success ---------------------------------------------------------------------------------------


def test_json_body_gives_camelcase_bearer_token(api, sa):
    account, key, creds = sa
    response = exchange(api, make_assertion(creds))
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"accessToken", "tokenType"} and body["tokenType"] == "Bearer"
    claims = jwt.decode(body["accessToken"], options={"verify_signature": False})
    assert claims["sub"] == creds["clientID"] and isinstance(claims["exp"], int) and claims["jti"]
    assert jwt.get_unverified_header(body["accessToken"])["alg"] == "ES256"
    assert response["X-Request-Id"] and response["Cache-Control"] == "no-store"
    grant = AuditEvent.objects.get(action="auth.token.grant")
    assert grant.actor_id == creds["clientID"] and grant.decision == "ALLOW"
    assert json.loads(grant.details)["jti"] == claims["jti"]
    ServiceAccountKey.objects.get(pk=key.pk).last_used_at is not None


def test_form_body_and_any_content_type_and_authorization_header_ignored(api, sa):
    _, _, creds = sa
    form = f"grant_type={GRANT}&assertion={make_assertion(creds)}"
    assert post(api, form, content_type="application/x-www-form-urlencoded").status_code == 200
    # Skyflow v2 sends the literal "Authorization: Bearer token"; v1 may send no Content-Type.
    body = json.dumps({"grant_type": GRANT, "assertion": make_assertion(creds), "scope": None})
    response = post(api, body, content_type="text/plain", HTTP_AUTHORIZATION="Bearer token")
    assert response.status_code == 200, response.content


def test_es256_key_works(api, service_account_factory):
    _, key, creds = service_account_factory(algorithm="ES256")
    assert key.algorithm == "ES256"
    assert exchange(api, make_assertion(creds)).status_code == 200


def test_kid_header_may_name_the_key(api, sa):
    _, _, creds = sa
    assertion = make_assertion(creds, drop=("key",), headers={"kid": creds["keyID"]})
    assert exchange(api, assertion).status_code == 200


def test_ctx_claim_reaches_the_access_token(api, sa):
    _, _, creds = sa
    response = exchange(api, make_assertion(creds, ctx={"agent_id": "a-17"}))
    claims = jwt.decode(response.json()["accessToken"], options={"verify_signature": False})
    assert claims["ctx"] == {"agent_id": "a-17"}


def test_token_ttl_follows_the_account(api, service_account_factory):
    _, _, creds = service_account_factory(token_ttl_seconds=120)
    token = exchange(api, make_assertion(creds)).json()["accessToken"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120


# --- refusals: one test per reason -------------------------------------------------------------


def test_alg_none_refused(api, sa):
    _, _, creds = sa
    claims = {
        "iss": creds["clientID"],
        "sub": creds["clientID"],
        "key": creds["keyID"],
        "aud": TOKEN_URI,
        "exp": int(time.time()) + 600,
    }
    unsigned = _b64(b'{"alg":"none","typ":"JWT"}') + "." + _b64(json.dumps(claims).encode()) + "."
    refused(exchange(api, unsigned), "alg 'none' is not allowed", "alg_not_allowed")


def test_hs256_with_the_public_key_as_secret_refused(api, sa):
    """The classic key-confusion attack: HMAC-sign with the (public) RSA key."""
    _, key, creds = sa
    claims = {
        "iss": creds["clientID"],
        "sub": creds["clientID"],
        "key": creds["keyID"],
        "aud": TOKEN_URI,
        "exp": int(time.time()) + 600,
    }
    signing_input = _b64(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64(json.dumps(claims).encode())
    mac = hmac.new(key.public_key.encode(), signing_input.encode(), hashlib.sha256).digest()
    refused(exchange(api, signing_input + "." + _b64(mac)), "alg 'HS256' is not allowed", "alg_not_allowed")


@pytest.mark.parametrize("alg", ["HS512", "PS256", "RS512", "ES384", "EdDSA"])
def test_other_algs_refused(api, sa, alg):
    _, _, creds = sa
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"iss": creds["clientID"], "sub": creds["clientID"], "key": creds["keyID"]}).encode())
    refused(exchange(api, f"{header}.{claims}.c2ln"), f"alg '{alg}' is not allowed", "alg_not_allowed")


def test_alg_other_than_the_keys_refused(api, sa):
    _, _, creds = sa  # an RS256 key
    other = ec.generate_private_key(ec.SECP256R1())
    refused(
        exchange(api, make_assertion(creds, algorithm="ES256", signing_key=_pem(other))),
        "does not match the key's registered algorithm 'RS256'",
        "alg_mismatch",
    )


def test_signature_by_another_key_refused(api, sa):
    _, _, creds = sa
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused(exchange(api, make_assertion(creds, signing_key=_pem(other))), "signature does not verify", "bad_signature")


def test_signature_by_another_accounts_key_refused(api, service_account_factory):
    _, _, creds = service_account_factory()
    _, _, other_creds = service_account_factory()
    forged = make_assertion(creds, signing_key=other_creds["privateKey"])
    refused(exchange(api, forged), "signature does not verify", "bad_signature")


def test_unknown_iss_refused(api, sa):
    _, _, creds = sa
    unknown = "00000000-0000-4000-8000-000000000000"
    refused(
        exchange(api, make_assertion(creds, iss=unknown, sub=unknown)),
        "No service account has this clientID",
        "unknown_issuer",
    )


def test_non_uuid_iss_refused(api, sa):
    _, _, creds = sa
    refused(exchange(api, make_assertion(creds, iss="root", sub="root")), "No service account", "unknown_issuer")


def test_missing_iss_refused(api, sa):
    _, _, creds = sa
    refused(exchange(api, make_assertion(creds, drop=("iss",))), "must carry iss and sub", "unknown_issuer")


def test_unknown_key_refused(api, sa):
    _, _, creds = sa
    refused(
        exchange(api, make_assertion(creds, key="11111111-1111-4111-8111-111111111111")), "has no key", "unknown_key"
    )


def test_key_of_another_account_refused(api, service_account_factory):
    _, _, creds = service_account_factory()
    _, _, other = service_account_factory()
    refused(exchange(api, make_assertion(creds, key=other["keyID"])), "has no key", "unknown_key")


def test_no_key_claim_refused(api, sa):
    _, _, creds = sa
    refused(exchange(api, make_assertion(creds, drop=("key",))), "names no key", "unknown_key")


def test_iss_not_sub_refused(api, service_account_factory):
    _, _, creds = service_account_factory()
    _, _, other = service_account_factory()
    refused(exchange(api, make_assertion(creds, sub=other["clientID"])), "iss and sub must both", "iss_sub_mismatch")


@pytest.mark.parametrize(
    "aud", ["http://evil.example/v1/auth/sa/oauth/token", "http://testserver", TOKEN_URI + "/", None]
)
def test_wrong_aud_refused(api, sa, aud):
    _, _, creds = sa
    assertion = make_assertion(creds, aud=aud) if aud else make_assertion(creds, drop=("aud",))
    refused(exchange(api, assertion), "aud must be exactly", "wrong_audience")


def test_missing_exp_refused(api, sa):
    _, _, creds = sa
    refused(exchange(api, make_assertion(creds, drop=("exp",))), "no exp claim", "missing_exp")


def test_past_exp_refused(api, sa):
    _, _, creds = sa
    refused(exchange(api, make_assertion(creds, exp=int(time.time()) - 120)), "expired", "expired")


def test_exp_within_skew_accepted(api, sa):
    _, _, creds = sa
    assert exchange(api, make_assertion(creds, exp=int(time.time()) - 30)).status_code == 200


def test_exp_more_than_60_minutes_ahead_refused(api, sa):
    _, _, creds = sa
    refused(
        exchange(api, make_assertion(creds, exp=int(time.time()) + 3600 + 120)),
        "more than 60 minutes ahead",
        "exp_too_far",
    )


def test_non_numeric_exp_refused(api, sa):
    _, _, creds = sa
    refused(exchange(api, make_assertion(creds, exp="tomorrow")), "must be a number", "malformed_jwt")


def test_nbf_in_future_refused(api, sa):
    _, _, creds = sa
    refused(exchange(api, make_assertion(creds, nbf=int(time.time()) + 120)), "nbf is in the future", "nbf_in_future")


def test_iat_in_future_refused(api, sa):
    _, _, creds = sa
    refused(exchange(api, make_assertion(creds, iat=int(time.time()) + 120)), "iat is in the future", "iat_in_future")


def test_iat_nbf_within_skew_accepted(api, sa):
    _, _, creds = sa
    now = int(time.time())
    assert exchange(api, make_assertion(creds, iat=now + 30, nbf=now + 30)).status_code == 200


@pytest.mark.parametrize("store", ["cache", "database"])
def test_replayed_assertion_refused(api, sa, settings, store):
    settings.VAULTSTUDIO_REPLAY_STORE = store
    _, _, creds = sa
    assertion = make_assertion(creds)
    assert exchange(api, assertion).status_code == 200
    refused(exchange(api, assertion), "already used", "replayed")


def test_revoked_key_refused(api, sa, actor):
    from accounts.services import service_account_key_revoke

    _, key, creds = sa
    service_account_key_revoke(actor=actor, key=key)
    refused(exchange(api, make_assertion(creds)), "has been revoked", "key_revoked")


def test_expired_key_refused(api, sa):
    _, key, creds = sa
    ServiceAccountKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused(exchange(api, make_assertion(creds)), "expired on", "key_expired")


def test_inactive_account_refused(api, sa, actor):
    from accounts.services import service_account_update

    account, _, creds = sa
    service_account_update(actor=actor, account=account, is_active=False)
    refused(exchange(api, make_assertion(creds)), "deactivated", "account_inactive")


def test_ip_outside_allowlist_refused(api, service_account_factory):
    _, _, creds = service_account_factory(ip_allowlist=["10.0.0.0/8"])
    refused(
        exchange(api, make_assertion(creds), REMOTE_ADDR="192.0.2.10"),
        "outside this account's IP allowlist",
        "ip_not_allowed",
    )
    assert exchange(api, make_assertion(creds), REMOTE_ADDR="10.1.2.3").status_code == 200


def test_x_forwarded_for_cannot_spoof_the_allowlist(api, service_account_factory):
    _, _, creds = service_account_factory(ip_allowlist=["10.0.0.0/8"])
    response = exchange(api, make_assertion(creds), REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="10.1.2.3")
    refused(response, "outside this account's IP allowlist", "ip_not_allowed")


def test_x_forwarded_for_from_a_trusted_proxy_is_used(api, service_account_factory, settings):
    settings.VAULTSTUDIO_TRUSTED_PROXIES = ["192.0.2.0/24"]
    _, _, creds = service_account_factory(ip_allowlist=["10.0.0.0/8"])
    response = exchange(api, make_assertion(creds), REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert response.status_code == 200


@pytest.mark.parametrize("body", ["not json at all", "[1, 2]", "null", '"a string"', ""])
def test_malformed_body_refused(api, body):
    refused(post(api, body), "must be a JSON object", "malformed_body")


def test_wrong_grant_type_refused(api, sa):
    _, _, creds = sa
    refused(
        post(api, {"grant_type": "client_credentials", "assertion": make_assertion(creds)}),
        "grant_type must be",
        "unsupported_grant_type",
    )


def test_missing_assertion_refused(api):
    refused(post(api, {"grant_type": GRANT}), "assertion is missing", "malformed_body")


@pytest.mark.parametrize("assertion", ["abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.%%%.sig"])
def test_malformed_jwt_refused(api, assertion):
    refused(exchange(api, assertion), "not a well-formed JWT", "malformed_jwt")


def test_bad_scope_refused(api, sa):
    _, _, creds = sa
    response = post(api, {"grant_type": GRANT, "assertion": make_assertion(creds), "scope": "admin"})
    refused(response, "is not of the form 'role:<id>'", "malformed_body")


def test_scope_with_unbound_role_refused(api, sa):
    from policies.models import Role

    _, _, creds = sa
    role = Role.objects.get(name="AUDITOR")
    response = post(api, {"grant_type": GRANT, "assertion": make_assertion(creds), "scope": f"role:{role.id}"})
    refused(response, "not bound to this account", "role_not_bound")


def test_scope_with_bound_role_narrows_the_token(api, service_account_factory):
    from policies.models import Role

    _, _, creds = service_account_factory(roles=("AUDITOR", "ACCOUNT_ADMIN"))
    role = Role.objects.get(name="AUDITOR")
    response = post(api, {"grant_type": GRANT, "assertion": make_assertion(creds), "scope": f"role:{role.id}"})
    assert response.status_code == 200
    claims = jwt.decode(response.json()["accessToken"], options={"verify_signature": False})
    assert claims["roles"] == [str(role.id)]


def test_get_is_405_in_the_envelope(api):
    response = api.get(URL)
    assert response.status_code == 405 and response.json()["error"]["http_code"] == 405
