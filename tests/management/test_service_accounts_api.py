"""Service accounts and their keys through /api/v1/service-accounts/ (DESIGN.md §9, §15)."""

from __future__ import annotations

import json
import uuid

import pytest

from accounts.keys import generate_keypair
from accounts.models import ServiceAccount, ServiceAccountKey
from tests.conftest import TOKEN_URI, make_assertion

from .support import assert_error, audit_actions, client_with, database_contains, last_audit_event, send

pytestmark = pytest.mark.django_db

BASE = "/api/v1/service-accounts/"
ACCOUNT_FIELDS = {
    "id",
    "client_id",
    "name",
    "description",
    "is_active",
    "ip_allowlist",
    "token_ttl_seconds",
    "created_at",
    "keys",
}
KEY_FIELDS = {"key_id", "algorithm", "fingerprint", "created_at", "expires_at", "revoked_at", "last_used_at", "active"}


def _create(client, **body):
    body.setdefault("name", f"app-{uuid.uuid4().hex[:6]}")
    response = send(client, "post", BASE, body)
    assert response.status_code == 201, response.content
    return response.json()


def _token_request(client, credentials):
    return send(
        client,
        "post",
        "/v1/auth/sa/oauth/token",
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": make_assertion(credentials),
        },
    )


# --- accounts -------------------------------------------------------------------------------------


def test_create_answers_the_contract_and_audits(admin_api, admin):
    body = {
        "name": "billing",
        "description": "Billing service",
        "ip_allowlist": ["10.0.0.0/8", "203.0.113.7"],
        "token_ttl_seconds": 600,
    }
    response = send(admin_api, "post", BASE, body)

    assert response.status_code == 201, response.content
    created = response.json()
    assert set(created) == ACCOUNT_FIELDS
    assert created["name"] == "billing" and created["description"] == "Billing service"
    assert created["ip_allowlist"] == ["10.0.0.0/8", "203.0.113.7/32"]
    assert created["token_ttl_seconds"] == 600 and created["is_active"] is True and created["keys"] == []
    account = ServiceAccount.objects.get(pk=created["id"])
    assert str(account.client_id) == created["client_id"]
    event = last_audit_event()
    assert event.action == "service_account.create"
    assert json.loads(event.resource_ids) == [created["client_id"]]
    # The actor is the calling service account, authenticated by its bearer token.
    assert (event.actor_id, event.auth_mode) == (str(admin.account.client_id), "SERVICE_ACCOUNT_JWT")
    assert event.http_path == BASE and event.http_method == "POST"


def test_create_defaults(admin_api):
    created = _create(admin_api, name="minimal")
    assert created["description"] == "" and created["ip_allowlist"] == [] and created["token_ttl_seconds"] == 900


@pytest.mark.parametrize(
    ("body", "status", "fragments", "field"),
    [
        ({}, 400, ["name"], "name"),
        ({"name": "x", "ip_allowlist": ["10.0.0.0/8", "10.0.0.300/24"]}, 400, ["10.0.0.300/24"], None),
        ({"name": "x", "ip_allowlist": "10.0.0.0/8"}, 400, ["ip_allowlist"], "ip_allowlist"),
        ({"name": "x", "token_ttl_seconds": 7200}, 400, ["token_ttl_seconds", "60", "3600"], None),
        ({"name": "x", "ip_allow_list": []}, 400, ["ip_allow_list", "Unknown field"], "ip_allow_list"),
        (["not", "an", "object"], 400, ["dictionary"], None),
    ],
)
def test_create_refuses_bad_input(admin_api, body, status, fragments, field):
    before = ServiceAccount.objects.count()
    error = assert_error(send(admin_api, "post", BASE, body), status, *fragments)
    if field:
        assert field in [d["field"] for d in error["details"]]
    assert ServiceAccount.objects.count() == before


def test_duplicate_name_is_a_conflict(admin_api):
    _create(admin_api, name="twice")
    assert_error(send(admin_api, "post", BASE, {"name": "twice"}), 409, "twice")


def test_get_by_id_or_client_id_and_unknown_is_404(admin_api):
    created = _create(admin_api)
    assert admin_api.get(f"{BASE}{created['id']}/").json() == created
    assert admin_api.get(f"{BASE}{created['client_id']}/").json()["id"] == created["id"]
    assert_error(admin_api.get(f"{BASE}{uuid.uuid4()}/"), 404, "No service account")
    assert_error(admin_api.get(f"{BASE}not-a-uuid/"), 404, "not-a-uuid")


def test_patch_changes_fields_and_audits(admin_api):
    created = _create(admin_api)
    response = send(
        admin_api,
        "patch",
        f"{BASE}{created['id']}/",
        {
            "name": "renamed",
            "description": "new",
            "ip_allowlist": ["192.0.2.0/24"],
            "token_ttl_seconds": 1800,
        },
    )
    assert response.status_code == 200, response.content
    changed = response.json()
    assert (changed["name"], changed["description"], changed["ip_allowlist"], changed["token_ttl_seconds"]) == (
        "renamed",
        "new",
        ["192.0.2.0/24"],
        1800,
    )
    event = last_audit_event()
    assert event.action == "service_account.update"
    assert json.loads(event.details)["after"]["name"] == "renamed"


def test_patch_refuses_bad_cidr_and_read_only_fields(admin_api):
    created = _create(admin_api)
    assert_error(send(admin_api, "patch", f"{BASE}{created['id']}/", {"ip_allowlist": ["300.1.1.1"]}), 400, "300.1.1.1")
    error = assert_error(send(admin_api, "patch", f"{BASE}{created['id']}/", {"client_id": str(uuid.uuid4())}), 400)
    assert [d["field"] for d in error["details"]] == ["client_id"]
    assert admin_api.get(f"{BASE}{created['id']}/").json() == created


def test_deactivate_keeps_the_account_and_kills_its_tokens(admin_api, caller_factory):
    victim = caller_factory("ACCOUNT_ADMIN", name="victim")
    assert victim.client().get(BASE).status_code == 200

    response = admin_api.delete(f"{BASE}{victim.account.id}/")

    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False and response.json()["id"] == str(victim.account.id)
    assert ServiceAccount.objects.filter(pk=victim.account.pk, is_active=False).exists()
    assert last_audit_event().action == "service_account.deactivate"
    assert_error(victim.client().get(BASE), 401, "deactivated")
    # and it can get no new token either
    assert _token_request(client_with(None), victim.credentials).status_code == 401
    # reactivation is a PATCH
    assert send(admin_api, "patch", f"{BASE}{victim.account.id}/", {"is_active": True}).json()["is_active"] is True
    assert last_audit_event().action == "service_account.activate"


# --- keys -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_generated_key_returns_credentials_that_get_a_token(admin_api, token_for, algorithm):
    created = _create(admin_api)
    response = send(admin_api, "post", f"{BASE}{created['id']}/keys/", {"generate": True, "algorithm": algorithm})

    assert response.status_code == 201, response.content
    assert "no-store" in response["Cache-Control"]
    credentials = response.json()
    assert set(credentials) == {"clientID", "clientName", "keyID", "tokenURI", "privateKey"}
    assert credentials["clientID"] == created["client_id"] and credentials["clientName"] == created["name"]
    assert credentials["tokenURI"] == TOKEN_URI
    assert "PRIVATE KEY" in credentials["privateKey"]
    key = ServiceAccountKey.objects.get(key_id=credentials["keyID"])
    assert key.algorithm == algorithm and key.generated
    assert token_for(credentials)
    assert last_audit_event().action == "auth.token.grant"
    assert "service_account.key.generate" in audit_actions()


def test_generate_defaults_to_rs256(admin_api):
    created = _create(admin_api)
    credentials = send(admin_api, "post", f"{BASE}{created['id']}/keys/", {"generate": True}).json()
    assert ServiceAccountKey.objects.get(key_id=credentials["keyID"]).algorithm == "RS256"


def test_private_key_is_never_stored(admin_api):
    created = _create(admin_api)
    credentials = send(
        admin_api, "post", f"{BASE}{created['id']}/keys/", {"generate": True, "algorithm": "ES256"}
    ).json()
    body_lines = [line for line in credentials["privateKey"].splitlines() if "-----" not in line]
    # Every line of the private key's base64 body, searched in every column of every table.
    for line in body_lines:
        assert database_contains(line) == [], f"private key material found in the database: {line}"
    # The search itself works: the public key is found where it belongs.
    stored = ServiceAccountKey.objects.get(key_id=credentials["keyID"]).public_key
    assert "accounts_serviceaccountkey" in database_contains(stored.splitlines()[1])


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_uploaded_public_key_registers_and_works(admin_api, token_for, algorithm):
    created = _create(admin_api)
    pair = generate_keypair(algorithm)  # the "customer's" pair: only the public half is sent

    response = send(
        admin_api,
        "post",
        f"{BASE}{created['id']}/keys/",
        {"public_key": pair.public_pem, "algorithm": algorithm, "expires_at": "2099-01-01T00:00:00Z"},
    )

    assert response.status_code == 201, response.content
    key = response.json()
    assert set(key) == KEY_FIELDS
    assert key["algorithm"] == algorithm and key["active"] is True and key["revoked_at"] is None
    assert key["expires_at"].startswith("2099-01-01")
    assert "privateKey" not in key and "public_key" not in key
    stored = ServiceAccountKey.objects.get(key_id=key["key_id"])
    assert not stored.generated and stored.fingerprint == key["fingerprint"]
    assert last_audit_event().action == "service_account.key.upload"
    credentials = {
        "clientID": created["client_id"],
        "keyID": key["key_id"],
        "tokenURI": TOKEN_URI,
        "privateKey": pair.private_pem,
    }
    assert token_for(credentials)


def test_uploading_a_private_key_is_refused(admin_api):
    created = _create(admin_api)
    pair = generate_keypair("ES256")
    response = send(
        admin_api, "post", f"{BASE}{created['id']}/keys/", {"public_key": pair.private_pem, "algorithm": "ES256"}
    )
    assert_error(response, 400, "private key")
    assert not ServiceAccountKey.objects.filter(service_account_id=created["id"]).exists()
    assert database_contains(pair.private_pem.splitlines()[1]) == []


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ({"public_key": "not a pem", "algorithm": "RS256"}, ["Not a PEM public key"]),
        ({"public_key": "{es256}", "algorithm": "RS256"}, ["RS256 needs an RSA public key"]),
        ({"public_key": "{es256}"}, ["algorithm", "RS256", "ES256"]),
        ({}, ['"generate": true', '"public_key"']),
        ({"generate": False}, ['"generate": true']),
        ({"generate": True, "public_key": "{es256}", "algorithm": "ES256"}, ["not both"]),
        ({"generate": True, "algorithm": "HS256"}, ["algorithm"]),
        ({"generate": True, "expires_at": "2001-01-01T00:00:00Z"}, ["expires_at must be in the future"]),
    ],
)
def test_key_request_that_is_neither_mode_says_what_to_send(admin_api, body, fragments):
    created = _create(admin_api)
    es256 = generate_keypair("ES256").public_pem
    body = {k: (es256 if v == "{es256}" else v) for k, v in body.items()}
    assert_error(send(admin_api, "post", f"{BASE}{created['id']}/keys/", body), 400, *fragments)
    assert not ServiceAccountKey.objects.filter(service_account_id=created["id"]).exists()


def test_third_active_key_is_a_conflict_until_one_is_revoked(admin_api):
    created = _create(admin_api)
    path = f"{BASE}{created['id']}/keys/"
    first = send(admin_api, "post", path, {"generate": True, "algorithm": "ES256"}).json()
    send(admin_api, "post", path, {"public_key": generate_keypair("ES256").public_pem, "algorithm": "ES256"})

    assert_error(send(admin_api, "post", path, {"generate": True, "algorithm": "ES256"}), 409, "revoke one")

    assert admin_api.delete(f"{path}{first['keyID']}/").status_code == 200
    assert send(admin_api, "post", path, {"generate": True, "algorithm": "ES256"}).status_code == 201


def test_keys_list_shows_expiry_last_use_and_state(admin_api, token_for):
    created = _create(admin_api)
    path = f"{BASE}{created['id']}/keys/"
    credentials = send(admin_api, "post", path, {"generate": True, "algorithm": "ES256"}).json()
    token_for(credentials)

    listing = admin_api.get(path).json()

    assert listing["count"] == 1
    (key,) = listing["results"]
    assert set(key) == KEY_FIELDS
    assert key["key_id"] == credentials["keyID"] and key["active"] is True
    assert key["last_used_at"] is not None and key["expires_at"] > key["created_at"]
    assert admin_api.get(f"{BASE}{created['id']}/").json()["keys"] == [key]


def test_revoke_answers_the_key_audits_and_ends_its_tokens(admin_api, caller_factory):
    victim = caller_factory("ACCOUNT_ADMIN", name="revoked")
    assert victim.client().get(BASE).status_code == 200

    response = admin_api.delete(f"{BASE}{victim.account.id}/keys/{victim.key.key_id}/")

    assert response.status_code == 200, response.content
    key = response.json()
    assert key["key_id"] == str(victim.key.key_id) and key["revoked_at"] and key["active"] is False
    event = last_audit_event()
    assert event.action == "service_account.key.revoke" and json.loads(event.resource_ids) == [key["key_id"]]
    assert_error(victim.client().get(BASE), 401, "revoked")
    assert _token_request(client_with(None), victim.credentials).status_code == 401
    # Revoking again is harmless and writes nothing new.
    count = len(audit_actions())
    assert (
        admin_api.delete(f"{BASE}{victim.account.id}/keys/{victim.key.key_id}/").json()["revoked_at"]
        == key["revoked_at"]
    )
    assert len(audit_actions()) == count


def test_revoke_unknown_key_or_another_accounts_key_is_404(admin_api, admin):
    created = _create(admin_api)
    assert_error(admin_api.delete(f"{BASE}{created['id']}/keys/{uuid.uuid4()}/"), 404)
    # the admin's own key exists, but not under this account
    assert_error(admin_api.delete(f"{BASE}{created['id']}/keys/{admin.key.key_id}/"), 404)
    assert ServiceAccountKey.objects.get(pk=admin.key.pk).revoked_at is None


# --- pagination -----------------------------------------------------------------------------------


def test_list_paginates_with_limit_and_offset(admin_api, admin):
    for index in range(4):
        _create(admin_api, name=f"page-{index}")
    everything = admin_api.get(BASE).json()
    assert everything["count"] == 5 and len(everything["results"]) == 5
    names = [a["name"] for a in everything["results"]]
    assert names == sorted(names)

    page = admin_api.get(BASE, {"limit": 2, "offset": 1}).json()
    assert set(page) == {"results", "count"}
    assert page["count"] == 5 and [a["name"] for a in page["results"]] == names[1:3]
    assert admin_api.get(BASE, {"offset": 10}).json() == {"results": [], "count": 5}
    assert len(admin_api.get(BASE, {"limit": 5000}).json()["results"]) == 5  # clamped to 1000, not refused


@pytest.mark.parametrize("query", [{"limit": "ten"}, {"limit": 0}, {"offset": -1}, {"offset": "x"}])
def test_malformed_paging_is_a_400(admin_api, query):
    (name,) = query
    assert_error(admin_api.get(BASE, query), 400, name)
