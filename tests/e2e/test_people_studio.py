"""End to end: an account admin deactivates a person from the users page, and that person's open browser
session is dead on their next click; an admin resets the MFA of a person who lost every factor (after a
step-up), and that person must enrol again at their next sign-in; groups are created and filled in the
browser."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django_otp.oath import hotp

from accounts.mfa.services import backup_codes_regenerate
from accounts.models import BackupCodeDevice, Group, TOTPDevice, User
from accounts.principals import user_actor
from policies.models import ACCOUNT_ADMIN, AUDITOR, VAULT_OWNER
from tests.studio_support import PASSWORD, browser_session_cookie, make_person

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_deactivating_a_user_kills_their_open_session_on_the_next_click(
    browser: Any, context: Any, page: Any, studio_url: str, screenshot: Any, console_errors: list[str]
) -> None:
    admin = make_person("admin@example.com", roles=(ACCOUNT_ADMIN,), name="Ada Admin")
    victim = make_person("victim@example.com", roles=(AUDITOR,), name="Victor Tim")
    make_person("newcomer@example.com", mfa=None, name="Nina Newcomer")
    make_person("owner@example.com", roles=(VAULT_OWNER,), name="Olga Owner", source="scim")

    victim_context = browser.new_context(base_url=studio_url, viewport={"width": 1360, "height": 900})
    try:
        victim_context.add_cookies([browser_session_cookie(victim, studio_url)])
        victim_page = victim_context.new_page()
        victim_page.goto("/studio/")
        assert victim_page.locator("h1").inner_text() == "Dashboard"

        context.add_cookies([browser_session_cookie(admin, studio_url)])
        page.goto("/studio/users/")
        assert page.locator("#users tbody tr").count() == 4
        screenshot(page, "users")
        page.fill("#id_q", "victim")
        page.get_by_role("button", name="Search").click()
        assert page.locator("#users tbody tr").count() == 1
        page.get_by_role("link", name="victim@example.com").click()
        page.wait_for_selector("#deactivate")
        screenshot(page, "user-detail")

        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#deactivate")
        page.wait_for_selector("text=their open sessions have ended")
        victim.refresh_from_db()
        assert not victim.is_active

        # The victim's next click: their session is gone, they land on the login page.
        victim_page.locator("nav.sidebar").get_by_role("link", name="Audit").click()
        victim_page.wait_for_load_state()
        assert victim_page.url.startswith(studio_url + "/studio/login/")
        victim_page.goto("/studio/")
        assert victim_page.url.startswith(studio_url + "/studio/login/")

        page.click("#activate")
        page.wait_for_selector("text=is active again")
        victim.refresh_from_db()
        assert victim.is_active
    finally:
        victim_context.close()
    # (Chromium's own /favicon.ico request 404s: not a page error.)
    assert not [e for e in console_errors if "Content Security Policy" in e or "Refused" in e], console_errors


def test_reset_mfa_after_step_up_sends_the_person_to_enrolment(
    browser: Any, context: Any, page: Any, studio_url: str, screenshot: Any, console_errors: list[str]
) -> None:
    admin = make_person("admin@example.com", roles=(ACCOUNT_ADMIN,), name="Ada Admin")
    lost = make_person("lost@example.com", roles=(AUDITOR,), name="Lou Lost")
    backup_codes_regenerate(actor=user_actor(lost), user=lost)

    lost_context = browser.new_context(base_url=studio_url, viewport={"width": 1360, "height": 900})
    try:
        lost_context.add_cookies([browser_session_cookie(lost, studio_url)])
        lost_page = lost_context.new_page()
        lost_page.goto("/studio/")
        assert lost_page.locator("h1").inner_text() == "Dashboard"

        # The admin's last MFA check is stale: the reset asks for one first, then returns to the page.
        context.add_cookies([browser_session_cookie(admin, studio_url, mfa_recent=False)])
        page.goto(f"/studio/users/{lost.pk}/")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#mfa-reset")
        page.wait_for_url("**/studio/step-up/?next=**")
        device = TOTPDevice.objects.get(user=admin)
        page.fill("input[name=totp-code]", f"{hotp(device.bin_key, int(time.time() // 30)):06d}")
        page.click("form.verify-form button:has-text('Verify')")
        page.wait_for_url(f"**/studio/users/{lost.pk}/")
        assert TOTPDevice.objects.filter(user=lost).exists()  # coming back changed nothing by itself
        screenshot(page, "user-detail-mfa")

        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#mfa-reset")
        page.wait_for_selector("text=They must set up MFA again at their next sign-in")
        screenshot(page, "user-mfa-reset")
        assert not TOTPDevice.objects.filter(user=lost).exists()
        assert not BackupCodeDevice.objects.filter(user=lost).exists()

        # Their open session is dead on the next click; after the password they can only enrol.
        lost_page.locator("nav.sidebar").get_by_role("link", name="Audit").click()
        lost_page.wait_for_load_state()
        assert lost_page.url.startswith(studio_url + "/studio/login/")
        lost_page.goto("/studio/login/?next=/studio/")
        lost_page.fill("input[name=email]", lost.email)
        lost_page.fill("input[name=password]", PASSWORD)
        lost_page.click("button[type=submit]")
        lost_page.wait_for_url("**/studio/mfa/enrol/**")
        lost_page.goto("/studio/audit/")
        assert "/studio/mfa/" in lost_page.url
    finally:
        lost_context.close()
    assert not [e for e in console_errors if "Content Security Policy" in e or "Refused" in e], console_errors


def test_groups_create_add_and_remove_members(context: Any, page: Any, studio_url: str, screenshot: Any) -> None:
    admin = make_person("admin@example.com", roles=(ACCOUNT_ADMIN,))
    member = make_person("support1@example.com", name="Sam Support")
    context.add_cookies([browser_session_cookie(admin, studio_url)])

    page.goto("/studio/groups/")
    assert "No groups yet" in page.content()
    page.fill("#id_name", "Support EU")
    page.get_by_role("button", name="Create group").click()
    page.wait_for_selector("text=Group Support EU was created")
    page.fill("#id_email", "support1@example.com")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_selector("text=support1@example.com was added to Support EU")
    assert list(Group.objects.get(name="Support EU").members.all()) == [member]
    page.fill("#id_email", "nobody@example.com")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_selector("text=No person has the email nobody@example.com")
    page.goto("/studio/groups/")
    screenshot(page, "groups")
    page.get_by_role("link", name="Support EU").click()
    screenshot(page, "group-detail")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove").click()
    page.wait_for_selector("text=was removed from Support EU")
    assert not Group.objects.get(name="Support EU").members.exists()
    assert User.objects.get(pk=member.pk).is_active
