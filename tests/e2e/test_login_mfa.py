"""End to end in headless Chromium: sign-in with mandatory MFA — TOTP enrolment from the secret the page
shows, backup codes shown once and single-use, a passkey through Chromium's virtual authenticator, no
studio page before MFA, and a deactivated person's open session dead on the next click."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import pytest
from django_otp.oath import hotp

from accounts.models import User
from accounts.sessions import end_sessions
from tests.studio_support import PASSWORD, make_person

pytestmark = pytest.mark.django_db(transaction=True)

ME = "/studio/me/"


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Authenticator:
    """An authenticator app, from the base32 secret the enrolment page shows."""

    def __init__(self, secret: str) -> None:
        self.key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        self.last_step = -1

    def code(self) -> str:
        # A step the server has not accepted yet: now, or the next one (within its one-step drift
        # tolerance) when this step is spent — no waiting 30 seconds.
        step = max(int(time.time() // 30), self.last_step + 1)
        self.last_step = step
        return f"{hotp(self.key, step):06d}"


def sign_in_password(page: Any, email: str, next_url: str = ME) -> None:
    page.goto(f"/studio/login/?next={next_url}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def sign_out(page: Any) -> None:
    page.click("form[action='/studio/logout/'] button")
    page.wait_for_url("**/studio/login/")


def csp_errors(errors: list[str]) -> list[str]:
    return [e for e in errors if "Content Security Policy" in e or "Refused to" in e]


def test_admin_enrols_totp_sees_codes_once_and_signs_in_again(page, studio_url, screenshot, console_errors):
    make_person("admin@example.com", roles=("ACCOUNT_ADMIN",), mfa=None)
    page.goto("/studio/login/?next=/studio/me/")
    screenshot(page, "login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/studio/mfa/enrol/**")
    screenshot(page, "mfa-enrol")
    # Nothing else is reachable before enrolment.
    page.goto(ME)
    assert "/studio/mfa/enrol/" in page.url

    page.click("text=Set up an authenticator app")
    page.wait_for_url("**/studio/mfa/enrol/totp/**")
    assert page.locator("img.qr").get_attribute("src").startswith("data:image/svg+xml")
    screenshot(page, "mfa-enrol-totp")
    app = Authenticator(page.inner_text("#totp-secret").strip())
    page.fill("input[name=name]", "Work phone")
    page.fill("input[name=code]", app.code())
    page.click("button:has-text('Confirm and turn on')")
    page.wait_for_url("**/studio/mfa/backup-codes/**")
    codes = re.findall(r"[a-z0-9]{5}-[a-z0-9]{5}", page.inner_text("#backup-codes"))
    assert len(codes) == 10
    screenshot(page, "backup-codes")
    page.click("text=I have saved them")
    page.wait_for_url(f"**{ME}")
    assert "Work phone" in page.inner_text("main")
    screenshot(page, "me")
    # Shown once: going back to the codes page shows none.
    page.goto("/studio/mfa/backup-codes/")
    assert not re.findall(r"[a-z0-9]{5}-[a-z0-9]{5}", page.inner_text("main"))

    sign_out(page)
    sign_in_password(page, "admin@example.com")
    page.wait_for_url("**/studio/mfa/**")
    screenshot(page, "mfa-verify")
    page.fill("input[name=totp-code]", app.code())
    page.click("form.verify-form button:has-text('Verify')")
    page.wait_for_url(f"**{ME}")

    # A backup code works once, and only once.
    sign_out(page)
    sign_in_password(page, "admin@example.com")
    page.click("summary:has-text('Use a backup code')")
    page.fill("input[name=backup-code]", codes[0])
    page.click("button:has-text('Use backup code')")
    page.wait_for_url(f"**{ME}")
    assert "9 of 10" in page.inner_text("main")
    sign_out(page)
    sign_in_password(page, "admin@example.com")
    page.click("summary:has-text('Use a backup code')")
    page.fill("input[name=backup-code]", codes[0])
    page.click("button:has-text('Use backup code')")
    page.wait_for_load_state()
    assert "/studio/mfa/" in page.url
    assert "not valid" in page.inner_text("main")
    page.goto(ME)
    assert "/studio/mfa/" in page.url
    assert not csp_errors(console_errors), console_errors


def test_second_person_enrols_a_passkey_and_signs_in_with_it(context, page, studio_url, screenshot, console_errors):
    make_person("analyst@example.com", roles=("AUDITOR",), mfa=None)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    sign_in_password(page, "analyst@example.com")
    page.wait_for_url("**/studio/mfa/enrol/**")
    page.click("#passkey-register-button")
    page.wait_for_url("**/studio/mfa/backup-codes/**")
    assert len(re.findall(r"[a-z0-9]{5}-[a-z0-9]{5}", page.inner_text("#backup-codes"))) == 10
    page.click("text=I have saved them")
    page.wait_for_url(f"**{ME}")
    assert "Passkey" in page.inner_text("main")

    sign_out(page)
    sign_in_password(page, "analyst@example.com")
    page.wait_for_url("**/studio/mfa/**")
    screenshot(page, "mfa-verify-passkey")
    page.click("#passkey-verification-button")
    page.wait_for_url(f"**{ME}")
    assert "analyst@example.com" in page.inner_text("header")
    assert not csp_errors(console_errors), console_errors


def test_password_only_browser_reaches_nothing(page, studio_url):
    make_person("pw@example.com", roles=("ACCOUNT_ADMIN",), mfa=None)
    sign_in_password(page, "pw@example.com")
    page.wait_for_url("**/studio/mfa/enrol/**")
    for url in (ME, "/studio/step-up/", "/studio/me/backup-codes/regenerate/", "/studio/"):
        page.goto(url)
        assert "/studio/mfa/enrol/" in page.url, url


def test_deactivated_persons_open_session_is_dead_on_the_next_click(page, studio_url):
    person = make_person("leaver@example.com", roles=("ACCOUNT_ADMIN",), mfa=None)
    sign_in_password(page, person.email)
    page.wait_for_url("**/studio/mfa/enrol/**")
    page.click("text=Set up an authenticator app")
    app = Authenticator(page.inner_text("#totp-secret").strip())
    page.fill("input[name=code]", app.code())
    page.click("button:has-text('Confirm and turn on')")
    page.click("text=I have saved them")
    page.wait_for_url(f"**{ME}")

    user = User.objects.get(email=person.email)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert end_sessions(user) == 1
    page.click("a.topbar-email")  # the next click
    page.wait_for_url("**/studio/login/**")
    assert page.locator("input[name=password]").is_visible()


def test_lockout_page_after_repeated_wrong_passwords(page, studio_url, screenshot, settings):
    make_person("target@example.com", roles=("ACCOUNT_ADMIN",))
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.goto("/studio/login/")
        page.fill("input[name=email]", "target@example.com")
        page.fill("input[name=password]", "wrong password, again")
        page.click("button[type=submit]")
    assert "Too many failed sign-in attempts" in page.inner_text("main")
    screenshot(page, "locked-out")


def test_step_up_page_returns_to_the_action(page, context, studio_url, screenshot):
    from accounts.models import TOTPDevice
    from tests.studio_support import browser_session_cookie

    person = make_person("stepper@example.com", roles=("ACCOUNT_ADMIN",))
    context.add_cookies([browser_session_cookie(person, studio_url, mfa_recent=False)])
    page.goto("/studio/me/")
    page.click("text=Generate new codes")
    page.wait_for_url("**/studio/step-up/?next=**")
    screenshot(page, "step-up")
    device = TOTPDevice.objects.get(user=person)
    page.fill("input[name=totp-code]", f"{hotp(device.bin_key, int(time.time() // 30)):06d}")
    page.click("form.verify-form button:has-text('Verify')")
    page.wait_for_url("**/studio/me/backup-codes/regenerate/")
    page.click("button:has-text('Generate new codes')")
    page.wait_for_url("**/studio/mfa/backup-codes/**")
    assert len(re.findall(r"[a-z0-9]{5}-[a-z0-9]{5}", page.inner_text("#backup-codes"))) == 10
