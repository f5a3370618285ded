"""The admin guide's first run, end to end in headless Chromium (docs/admin-guide.md follows it step by
step, with the screenshots this test saves as ``guide-*.png``):

``manage.py createsuperuser`` → first sign-in, forced MFA enrolment, backup codes → a first vault and
its schema → a first policy → a role carrying it → a first service account whose downloaded
credentials get a token and then read exactly what the policy allows.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from django.core.management import call_command
from django_otp.oath import hotp

from accounts.models import User
from vaults.models import Vault

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "first.admin@example.com"
PASSWORD = "a long first-run passphrase 1"


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _totp(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{hotp(key, int(time.time() // 30)):06d}"


def _nav(page: Any, label: str) -> None:
    page.locator("nav.sidebar").get_by_role("link", name=label, exact=True).click()


def _token(base_url: str, credentials: dict[str, str]) -> str:
    now = int(time.time())
    claims = {
        "iss": credentials["clientID"],
        "sub": credentials["clientID"],
        "key": credentials["keyID"],
        "aud": credentials["tokenURI"],
        "iat": now,
        "exp": now + 300,
        "jti": str(now),
    }
    assertion = jwt.encode(claims, credentials["privateKey"], algorithm="RS256")
    response = requests.post(
        base_url + "/v1/auth/sa/oauth/token",
        json={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["accessToken"]


def test_first_run_from_createsuperuser_to_a_service_account_reading_masked_data(
    page: Any, studio_url: str, screenshot: Any, console_errors: list[str], monkeypatch: Any
) -> None:
    # 1. The first admin, from the command line.
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", interactive=False, email=EMAIL, verbosity=0)
    assert User.objects.get(email=EMAIL).is_superuser

    # 2. First sign-in: the password, then MFA enrolment is the only way on.
    page.goto("/studio/")
    page.wait_for_url("**/studio/login/**")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    screenshot(page, "guide-1-sign-in")
    page.click("button[type=submit]")
    page.wait_for_url("**/studio/mfa/enrol/**")
    screenshot(page, "guide-2-mfa-required")
    page.click("text=Set up an authenticator app")
    page.wait_for_url("**/studio/mfa/enrol/totp/**")
    secret = page.inner_text("#totp-secret").strip()
    page.fill("input[name=code]", _totp(secret))
    screenshot(page, "guide-3-totp")
    page.click("button:has-text('Confirm and turn on')")
    page.wait_for_url("**/studio/mfa/backup-codes/**")
    screenshot(page, "guide-4-backup-codes")
    page.click("text=I have saved them")
    page.wait_for_url("**/studio/")
    screenshot(page, "guide-5-dashboard")

    # 3. A first vault and its schema.
    _nav(page, "Vaults")
    page.get_by_role("link", name="New vault").click()
    page.fill("#id_name", "customers")
    page.fill("#id_description", "Our customers' contact details")
    page.get_by_role("button", name="Create vault").click()
    page.wait_for_url("**/studio/vaults/*/")
    page.get_by_role("link", name="New table").click()
    page.fill("#id_name", "persons")
    page.get_by_role("button", name="Create table").click()
    page.wait_for_url("**/tables/persons/columns/new/")  # a new table goes straight to its first column
    for name, data_type in (("name", "string"), ("email", "email")):
        if name != "name":
            page.locator("#table-persons").get_by_role("link", name="Add column").click()
        page.fill("#id_name", name)
        page.select_option("#id_data_type", data_type)
        page.select_option("#id_default_redaction", "MASKED")
        page.get_by_role("button", name="Add column").click()
        page.locator(".message-success").wait_for()
    screenshot(page, "guide-6-vault-schema")
    vault = Vault.objects.get(name="customers")

    # 4. A first policy: apps may add people and read them back masked.
    _nav(page, "Policies")
    page.get_by_role("link", name="New policy").first.click()
    page.fill("#id_name", "support-app")
    page.locator("[data-policy-editor]:not(.no-js)").wait_for()  # the editor's script is listening
    page.locator("#id_source").fill(
        "ALLOW CREATE ON persons.*\nALLOW READ ON persons.name, persons.email WITH REDACTION = MASKED"
    )
    page.locator("#validation-state .badge-ok").wait_for()
    screenshot(page, "guide-7-policy")
    page.get_by_role("button", name="Save policy").click()
    page.locator(".message-success").wait_for()

    # 5. A role that carries it.
    _nav(page, "Roles")
    page.get_by_role("link", name="New role").click()
    page.fill("#id_name", "support-app")
    page.get_by_label("customers / support-app").check()
    page.get_by_role("button", name="Create role").click()
    page.locator(".message-success").wait_for()
    role_url = page.url

    # 6. A first service account, its key, and the credentials file (offered once).
    _nav(page, "Service accounts")
    page.get_by_role("link", name="New service account").click()
    page.fill("#id_name", "support-app")
    page.get_by_role("button", name="Create service account").click()
    page.wait_for_url("**/service-accounts/*/")
    page.click("#generate-key")
    page.select_option("#id_algorithm", "RS256")
    page.get_by_role("button", name="Generate key").click()
    page.wait_for_selector("#download-credentials")
    screenshot(page, "guide-8-credentials")
    with page.expect_download() as download_info:
        page.click("#download-credentials")
    credentials = json.loads(Path(download_info.value.path()).read_text())

    page.goto(role_url)
    page.select_option("#id_subject", label=f"support-app ({credentials['clientID']})")
    page.get_by_role("button", name="Bind").click()
    page.locator(".message-success").wait_for()
    screenshot(page, "guide-9-role")

    # 7. The app: a token from the downloaded credentials, a write, and a read that comes back masked.
    token = _token(studio_url, credentials)
    headers = {"Authorization": f"Bearer {token}"}
    rows = {"records": [{"fields": {"name": "Ada Lovelace", "email": "ada@example.com"}}]}
    created = requests.post(f"{studio_url}/v1/vaults/{vault.id}/persons", json=rows, headers=headers, timeout=30)
    assert created.status_code == 200, created.text
    read = requests.get(f"{studio_url}/v1/vaults/{vault.id}/persons", headers=headers, timeout=30)
    assert read.status_code == 200, read.text
    fields = read.json()["records"][0]["fields"]
    assert fields["name"] != "Ada Lovelace" and fields["email"] != "ada@example.com"
    assert "Ada Lovelace" not in read.text and "ada@example.com" not in read.text

    assert not [e for e in console_errors if "Content Security Policy" in e or "Refused to" in e], console_errors
