"""Service-account pages (ACCOUNT_ADMIN): create, edit, deactivate; keys generated (step-up, credentials
offered once, never stored), uploaded (step-up), revoked."""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import ServiceAccount, ServiceAccountKey, User
from audit.models import AuditEvent
from policies.models import ACCOUNT_ADMIN, AUDITOR, VAULT_OWNER
from tests.conftest import make_assertion
from tests.query_budget import assert_constant_queries
from tests.studio_support import login_client, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client: Any) -> User:
    user = make_person("admin@example.com", roles=(ACCOUNT_ADMIN,))
    login_client(client, user)
    return user


@pytest.fixture
def account(actor: Any) -> ServiceAccount:
    return services.service_account_create(actor=actor, name="billing", description="The billing app")


def _data_uri_credentials(html: str) -> dict[str, str]:
    match = re.search(r'href="data:application/json;base64,([A-Za-z0-9+/=]+)"\s+download="credentials.json"', html)
    assert match, "the page offers credentials.json as a data: link"
    return json.loads(base64.b64decode(match.group(1)))


def _generate_form(client: Any, account: ServiceAccount) -> dict[str, str]:
    html = client.get(reverse("studio:service_account_key_generate", args=[account.pk])).content.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', html)
    assert nonce
    return {"algorithm": "ES256", "valid_days": "365", "nonce": nonce.group(1)}


def test_every_page_for_account_admin(client: Any, admin: User, account: ServiceAccount) -> None:
    for url in (
        reverse("studio:service_accounts"),
        reverse("studio:service_account_create"),
        reverse("studio:service_account_detail", args=[account.pk]),
        reverse("studio:service_account_key_generate", args=[account.pk]),
        reverse("studio:service_account_key_upload", args=[account.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert b"<script>" not in response.content and b'style="' not in response.content


@pytest.mark.parametrize("roles", [(AUDITOR,), (VAULT_OWNER,)])
def test_other_roles_get_403(client: Any, account: ServiceAccount, actor: Any, roles: tuple[str, ...]) -> None:
    login_client(client, make_person("other@example.com", roles=roles))
    key, _ = services.service_account_key_generate(actor=actor, account=account)
    for url in (
        reverse("studio:service_accounts"),
        reverse("studio:service_account_create"),
        reverse("studio:service_account_detail", args=[account.pk]),
        reverse("studio:service_account_key_generate", args=[account.pk]),
        reverse("studio:service_account_key_upload", args=[account.pk]),
    ):
        assert client.get(url).status_code == 403, url
    for url in (
        reverse("studio:service_account_deactivate", args=[account.pk]),
        reverse("studio:service_account_key_revoke", args=[account.pk, key.key_id]),
        reverse("studio:service_account_key_generate", args=[account.pk]),
    ):
        assert client.post(url, {"algorithm": "RS256", "valid_days": "30"}).status_code == 403, url
    account.refresh_from_db()
    key.refresh_from_db()
    assert account.is_active and key.revoked_at is None and account.keys.count() == 1


def test_key_generate_and_upload_need_a_recent_mfa_check(client: Any, account: ServiceAccount) -> None:
    login_client(client, make_person("admin@example.com", roles=(ACCOUNT_ADMIN,)), mfa_recent=False)
    for name in ("studio:service_account_key_generate", "studio:service_account_key_upload"):
        url = reverse(name, args=[account.pk])
        for response in (client.get(url), client.post(url, {"algorithm": "RS256", "valid_days": "30"})):
            assert response.status_code == 302
            assert response.url.startswith(reverse("studio:step_up")) and "next=" in response.url
    assert not account.keys.exists()
    # the pages without step-up still work
    assert client.get(reverse("studio:service_account_detail", args=[account.pk])).status_code == 200


def test_list_shows_keys_summary_in_constant_queries(
    client: Any, admin: User, actor: Any, django_assert_max_num_queries: Any
) -> None:
    def grow() -> None:
        for i in range(15):
            account = services.service_account_create(actor=actor, name=f"app-{i}", ip_allowlist=["10.0.0.0/8"])
            services.service_account_key_generate(
                actor=actor, account=account, algorithm="ES256", expires_at=timezone.now() + timedelta(days=5)
            )

    services.service_account_create(actor=actor, name="first")
    assert_constant_queries(client, reverse("studio:service_accounts"), grow, django_assert_max_num_queries)
    html = client.get(reverse("studio:service_accounts")).content.decode()
    assert "app-14" in html and "1 network" in html and "badge-warn" in html


def test_detail_queries_do_not_grow_with_keys(
    client: Any, admin: User, account: ServiceAccount, actor: Any, django_assert_max_num_queries: Any
) -> None:
    def grow() -> None:
        for _ in range(6):
            key, _ = services.service_account_key_generate(actor=actor, account=account, algorithm="ES256")
            services.service_account_key_revoke(actor=actor, key=key)

    url = reverse("studio:service_account_detail", args=[account.pk])
    assert_constant_queries(client, url, grow, django_assert_max_num_queries)


def test_create_writes_account_with_allowlist_and_ttl(client: Any, admin: User) -> None:
    response = client.post(
        reverse("studio:service_account_create"),
        {"name": "payments", "description": "d", "ip_allowlist": "10.0.0.0/8\n203.0.113.7", "token_ttl_minutes": "30"},
    )
    account = ServiceAccount.objects.get(name="payments")
    assert response.status_code == 302 and response.url == reverse("studio:service_account_detail", args=[account.pk])
    assert account.ip_allowlist == ["10.0.0.0/8", "203.0.113.7/32"] and account.token_ttl_seconds == 1800
    assert AuditEvent.objects.filter(action="service_account.create", actor_id=str(admin.pk)).count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "token_ttl_minutes": "15"}, "required"),
        ({"name": "x", "ip_allowlist": "10.0.0.0/8\nnot-a-network", "token_ttl_minutes": "15"}, "not-a-network"),
        ({"name": "x", "token_ttl_minutes": "61"}, "less than or equal to 60"),
        ({"name": "x", "token_ttl_minutes": "0"}, "greater than or equal to 1"),
        ({"name": "billing", "token_ttl_minutes": "15"}, "already exists"),
    ],
)
def test_create_bad_input_writes_nothing(
    client: Any, admin: User, account: ServiceAccount, data: dict[str, str], message: str
) -> None:
    accounts, events = ServiceAccount.objects.count(), AuditEvent.objects.count()
    response = client.post(reverse("studio:service_account_create"), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert ServiceAccount.objects.count() == accounts and AuditEvent.objects.count() == events


def test_edit_allowlist_and_bad_edit_changes_nothing(client: Any, admin: User, account: ServiceAccount) -> None:
    url = reverse("studio:service_account_detail", args=[account.pk])
    data = {"name": "billing", "description": "new", "ip_allowlist": "192.0.2.0/24", "token_ttl_minutes": "5"}
    assert client.post(url, data).status_code == 302
    account.refresh_from_db()
    assert account.ip_allowlist == ["192.0.2.0/24"] and account.token_ttl_seconds == 300
    response = client.post(url, {**data, "ip_allowlist": "300.1.1.1"})
    assert response.status_code == 400 and "300.1.1.1" in response.content.decode()
    account.refresh_from_db()
    assert account.ip_allowlist == ["192.0.2.0/24"]
    assert AuditEvent.objects.filter(action="service_account.update").count() == 1


def test_deactivate_and_reactivate(client: Any, admin: User, account: ServiceAccount) -> None:
    assert client.post(reverse("studio:service_account_deactivate", args=[account.pk])).status_code == 302
    account.refresh_from_db()
    assert not account.is_active
    assert client.post(reverse("studio:service_account_activate", args=[account.pk])).status_code == 302
    account.refresh_from_db()
    assert account.is_active
    actions = AuditEvent.objects.filter(action__startswith="service_account.").values_list("action", flat=True)
    assert list(actions)[-2:] == ["service_account.deactivate", "service_account.activate"]


def test_generate_offers_credentials_once_and_stores_no_private_key(
    client: Any, admin: User, account: ServiceAccount, api: Any
) -> None:
    form = _generate_form(client, account)
    response = client.post(reverse("studio:service_account_key_generate", args=[account.pk]), form)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    html = response.content.decode()
    assert "cannot be shown again" in html
    credentials = _data_uri_credentials(html)
    key = ServiceAccountKey.objects.get(service_account=account)
    assert credentials["keyID"] == str(key.key_id) and credentials["clientID"] == str(account.client_id)
    assert key.algorithm == "ES256" and key.generated
    # the private key is nowhere on the server: not in the key row, the sessions or the audit log
    secret_line = credentials["privateKey"].splitlines()[1]
    assert "PRIVATE" not in key.public_key
    assert all(secret_line not in json.dumps(s.get_decoded()) for s in Session.objects.all())
    assert not AuditEvent.objects.filter(details__contains=secret_line[:20]).exists()
    # it works at the token endpoint
    body = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": make_assertion(credentials)}
    token = api.post("/v1/auth/sa/oauth/token", data=json.dumps(body), content_type="application/json")
    assert token.status_code == 200 and token.json()["accessToken"]
    # re-submitting the same form (a reload) mints nothing and shows no credentials
    again = client.post(reverse("studio:service_account_key_generate", args=[account.pk]), form)
    assert again.status_code == 302 and again.url == reverse("studio:service_account_detail", args=[account.pk])
    assert ServiceAccountKey.objects.filter(service_account=account).count() == 1
    detail = client.get(again.url).content.decode()
    assert "already used" in detail and "data:application/json" not in detail


def test_generate_refused_with_two_usable_keys_keeps_form(
    client: Any, admin: User, account: ServiceAccount, actor: Any
) -> None:
    services.service_account_key_generate(actor=actor, account=account)
    services.service_account_key_generate(actor=actor, account=account)
    response = client.post(
        reverse("studio:service_account_key_generate", args=[account.pk]), _generate_form(client, account)
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "revoke one before adding another" in html and "data:application/json" not in html
    assert account.keys.count() == 2


def test_generate_bad_input(client: Any, admin: User, account: ServiceAccount) -> None:
    form = {**_generate_form(client, account), "algorithm": "HS256", "valid_days": "0"}
    response = client.post(reverse("studio:service_account_key_generate", args=[account.pk]), form)
    assert response.status_code == 400 and "not one of the available choices" in response.content.decode()
    assert not account.keys.exists()


def test_upload_public_key_then_revoke(client: Any, admin: User, account: ServiceAccount) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    url = reverse("studio:service_account_key_upload", args=[account.pk])
    response = client.post(url, {"algorithm": "ES256", "public_key": pem.decode(), "valid_days": "90"})
    assert response.status_code == 302
    key = ServiceAccountKey.objects.get(service_account=account)
    assert not key.generated and (key.expires_at - timezone.now()).days in (89, 90)
    revoke = reverse("studio:service_account_key_revoke", args=[account.pk, key.key_id])
    assert client.post(revoke).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert list(
        AuditEvent.objects.filter(action__startswith="service_account.key.").values_list("action", flat=True)
    ) == [
        "service_account.key.upload",
        "service_account.key.revoke",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"algorithm": "ES256", "public_key": "not a key", "valid_days": "30"}, "PEM"),
        ({"algorithm": "ES256", "public_key": "", "valid_days": "30"}, "required"),
        ({"algorithm": "RS256", "public_key": "EC", "valid_days": "30"}, ""),
    ],
)
def test_upload_bad_key_writes_nothing(
    client: Any, admin: User, account: ServiceAccount, data: dict[str, str], message: str
) -> None:
    if data["public_key"] == "EC":  # an EC key declared as RS256
        private = ec.generate_private_key(ec.SECP256R1())
        data = {
            **data,
            "public_key": private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode(),
        }
    events = AuditEvent.objects.count()
    response = client.post(reverse("studio:service_account_key_upload", args=[account.pk]), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not account.keys.exists() and AuditEvent.objects.count() == events


def test_revoke_key_of_another_account_is_404(client: Any, admin: User, account: ServiceAccount, actor: Any) -> None:
    other = services.service_account_create(actor=actor, name="other")
    key, _ = services.service_account_key_generate(actor=actor, account=other)
    response = client.post(reverse("studio:service_account_key_revoke", args=[account.pk, key.key_id]))
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    assert client.get(reverse("studio:service_account_detail", args=[uuid.uuid4()])).status_code == 404
