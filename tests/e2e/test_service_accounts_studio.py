"""End to end: an account admin creates a service account and generates a key in the studio; the
downloaded credentials.json gets a token from the token endpoint; the credentials are offered once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from accounts.models import ServiceAccount, ServiceAccountKey
from policies.models import ACCOUNT_ADMIN
from tests.conftest import make_assertion
from tests.studio_support import browser_session_cookie, make_person

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _token(studio_url: str, credentials: dict[str, str]) -> requests.Response:
    body = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": make_assertion(credentials)}
    return requests.post(studio_url + "/v1/auth/sa/oauth/token", json=body, timeout=30)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_generated_key_downloads_credentials_that_get_a_token_once(
    context: Any, page: Any, studio_url: str, screenshot: Any, console_errors: list[str], algorithm: str
) -> None:
    admin = make_person("admin@example.com", roles=(ACCOUNT_ADMIN,))
    context.add_cookies([browser_session_cookie(admin, studio_url)])

    page.goto("/studio/service-accounts/")
    page.get_by_role("link", name="New service account").click()
    page.fill("#id_name", "billing-app")
    page.fill("#id_description", "Charges customers' cards")
    page.fill("#id_ip_allowlist", "127.0.0.1/32\n::1")
    page.fill("#id_token_ttl_minutes", "10")
    page.get_by_role("button", name="Create service account").click()
    page.wait_for_url("**/service-accounts/*/")
    assert "Service account billing-app was created" in page.content()
    account = ServiceAccount.objects.get(name="billing-app")
    assert account.ip_allowlist == ["127.0.0.1/32", "::1/128"] and account.token_ttl_seconds == 600

    page.click("#generate-key")
    page.select_option("#id_algorithm", algorithm)
    page.get_by_role("button", name="Generate key").click()
    page.wait_for_selector("#download-credentials")
    assert "cannot be shown again" in page.content()
    if algorithm == "RS256":
        screenshot(page, "service-account-key-generated")

    with page.expect_download() as download_info:
        page.click("#download-credentials")
    download = download_info.value
    assert download.suggested_filename == "credentials.json"
    credentials = json.loads(Path(download.path()).read_text())
    key = ServiceAccountKey.objects.get(service_account=account)
    assert credentials["clientID"] == str(account.client_id) and credentials["keyID"] == str(key.key_id)
    assert credentials["tokenURI"] == studio_url + "/v1/auth/sa/oauth/token"
    assert key.algorithm == algorithm and "PRIVATE" not in key.public_key

    response = _token(studio_url, credentials)
    assert response.status_code == 200, response.text
    assert response.json()["accessToken"] and response.json()["tokenType"] == "Bearer"

    # Not a second time: the page dropped the file once taken, and a reload (re-posting the form)
    # neither shows the credentials again nor mints another key.
    page.wait_for_selector("#download-credentials.is-spent")
    assert page.get_attribute("#download-credentials", "href") is None
    page.reload()
    page.wait_for_load_state()
    assert page.url.endswith(f"/studio/service-accounts/{account.pk}/")
    assert "This key form was already used" in page.locator(".messages").inner_text()
    assert page.locator("a[download]").count() == 0
    assert "data:application/json" not in page.content()
    assert ServiceAccountKey.objects.filter(service_account=account).count() == 1

    page.goto(f"/studio/service-accounts/{account.pk}/")
    assert page.locator("a[download]").count() == 0
    row = page.locator("#keys tbody tr").first
    assert str(key.key_id) in row.inner_text() and "just now" in row.inner_text()  # last used: the token above
    if algorithm == "RS256":
        page.reload()
        screenshot(page, "service-account-detail")
        page.goto("/studio/service-accounts/")
        screenshot(page, "service-accounts")
    assert not [e for e in console_errors if "Content Security Policy" in e or "Refused" in e], console_errors


def test_upload_public_key_and_revoke_in_the_browser(
    context: Any, page: Any, studio_url: str, actor: Any, screenshot: Any
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from accounts import services

    admin = make_person("admin@example.com", roles=(ACCOUNT_ADMIN,))
    account = services.service_account_create(actor=actor, name="reports")
    context.add_cookies([browser_session_cookie(admin, studio_url)])
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    page.goto(f"/studio/service-accounts/{account.pk}/keys/upload/")
    page.select_option("#id_algorithm", "ES256")
    page.fill("#id_public_key", pem.decode())
    page.get_by_role("button", name="Upload public key").click()
    page.wait_for_url(f"**/service-accounts/{account.pk}/")
    key = ServiceAccountKey.objects.get(service_account=account)
    assert f"Public key {key.key_id} (ES256) was registered" in page.content()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_selector("text=tokens obtained with it stop working now")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_generating_a_key_asks_for_step_up_and_returns_to_the_form(
    context: Any, page: Any, studio_url: str, actor: Any, screenshot: Any
) -> None:
    import time

    from django_otp.oath import hotp

    from accounts import services
    from accounts.models import TOTPDevice

    admin = make_person("admin@example.com", roles=(ACCOUNT_ADMIN,))
    account = services.service_account_create(actor=actor, name="nightly-export")
    context.add_cookies([browser_session_cookie(admin, studio_url, mfa_recent=False)])

    page.goto(f"/studio/service-accounts/{account.pk}/")
    page.click("#generate-key")
    page.wait_for_url("**/studio/step-up/?next=**")
    assert not ServiceAccountKey.objects.filter(service_account=account).exists()
    device = TOTPDevice.objects.get(user=admin)
    page.fill("input[name=totp-code]", f"{hotp(device.bin_key, int(time.time() // 30)):06d}")
    page.click("form.verify-form button:has-text('Verify')")
    page.wait_for_url(f"**/studio/service-accounts/{account.pk}/keys/generate/")
    screenshot(page, "service-account-key-form")
    page.get_by_role("button", name="Generate key").click()
    page.wait_for_selector("#download-credentials")
    assert ServiceAccountKey.objects.filter(service_account=account, generated=True).count() == 1
