"""Signing in: password, then MFA; session keys rotate at both; lockout on passwords and on MFA codes;
nothing says whether an email exists; every step is audited without secrets."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.models import TOTPDevice, User
from audit.models import AuditEvent
from tests.accounts.login_support import (  # noqa: F401  (autouse fixtures)
    ME,
    _fast_hashing_and_fresh_lockouts,
    fresh_code,
    post_backup,
    post_password,
    post_totp,
    session_key,
    sign_in,
    totp_code,
)
from tests.studio_support import PASSWORD, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> User:
    return make_person("admin@example.com", roles=("ACCOUNT_ADMIN",))


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


def test_login_page_renders_with_a_form(client):
    response = client.get("/studio/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="email"' in body and 'name="password"' in body and "csrfmiddlewaretoken" in body


def test_password_then_totp_reaches_the_page_asked_for(client, admin):
    response = post_password(client, admin.email)
    assert response.status_code == 302
    assert response["Location"] == "/studio/mfa/?next=%2Fstudio%2Fme%2F"
    # Password only: no studio page yet.
    assert client.get(ME)["Location"].startswith("/studio/mfa/")
    response = post_totp(client, fresh_code(TOTPDevice.objects.get(user=admin)))
    assert response.status_code == 302 and response["Location"] == ME
    assert client.get(ME).status_code == 200
    assert actions()[-2:] == ["auth.login.success", "auth.mfa.success"]


def test_no_next_goes_to_the_dashboard(client, admin):
    response = client.post("/studio/login/", {"email": admin.email, "password": PASSWORD})
    assert response["Location"] == "/studio/mfa/"
    response = client.post(
        "/studio/mfa/", {"method": "totp", "totp-code": fresh_code(TOTPDevice.objects.get(user=admin))}
    )
    assert response["Location"] == "/studio/"


def test_email_is_case_insensitive(client, admin):
    assert post_password(client, "  Admin@Example.COM ").status_code == 302


def test_session_key_rotates_at_password_and_at_mfa(client, admin):
    client.get("/studio/login/")
    client.session.save()  # an anonymous session an attacker could have planted
    planted = client.session.session_key
    client.cookies["sessionid"] = planted
    post_password(client, admin.email)
    after_password = session_key(client)
    assert after_password and after_password != planted
    post_totp(client, fresh_code(TOTPDevice.objects.get(user=admin)))
    after_mfa = session_key(client)
    assert after_mfa and after_mfa not in (planted, after_password)
    # The old keys are dead: a client holding them is anonymous.
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key__in=[planted, after_password]).exists()


def test_wrong_password_and_unknown_email_look_the_same(client, admin):
    wrong = post_password(client, admin.email, "not the password")
    unknown = post_password(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 200
    for response in (wrong, unknown):
        assert "The email or password is incorrect." in response.content.decode()
    events = list(AuditEvent.objects.filter(action="auth.login.failure").order_by("seq"))
    assert [e.actor_display for e in events] == ["admin@example.com", "nobody@example.com"]
    assert events[1].actor_type == "NONE"
    for event in events:  # never the password
        assert "not the password" not in str(event.details) and "not the password" not in event.actor_display


def test_lockout_after_n_wrong_passwords_even_with_the_right_one(client, admin, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_password(client, admin.email, "wrong password!").status_code == 200
    locked = post_password(client, admin.email, "wrong password!")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    # Now even the right password is refused, with the same page.
    again = post_password(client, admin.email)
    assert again.status_code == 429
    assert session_key(client) is None or client.get(ME).status_code == 302
    assert "auth.lockout" in actions()


def test_lockout_counts_unknown_emails_too(client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = post_password(client, "ghost@example.com", "guess guess guess")
    assert response.status_code == 429


def test_lockout_after_n_wrong_mfa_codes(client, admin, settings):
    device = TOTPDevice.objects.get(user=admin)
    settings.VAULTSTUDIO_TOTP_THROTTLE_FACTOR = 0  # django-otp's own back-off would also refuse; axes is under test
    post_password(client, admin.email)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = post_totp(client, "000000")
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    response = post_totp(client, "000000")
    assert response.status_code == 429
    # The lockout ended the session, and the right password + code no longer get in.
    assert client.get(ME)["Location"].startswith("/studio/login/")
    assert post_password(client, admin.email).status_code == 429
    assert "auth.lockout" in actions() and actions().count("auth.mfa.failure") == settings.AXES_FAILURE_LIMIT
    assert device.user_id == admin.pk


def test_a_new_password_login_does_not_reset_the_mfa_failure_count(client, admin, settings):
    settings.VAULTSTUDIO_TOTP_THROTTLE_FACTOR = 0
    post_password(client, admin.email)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        post_totp(client, "000000")
    client.cookies.clear()
    post_password(client, admin.email)  # the password is right: still one failure from the lockout
    assert post_totp(client, "000000").status_code == 429


def test_passing_mfa_clears_earlier_failures(client, admin, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        post_password(client, admin.email, "wrong password!")
    sign_in(client, admin)
    client.post("/studio/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_password(client, admin.email, "wrong password!").status_code == 200


def test_totp_code_is_single_use(client, admin):
    device = TOTPDevice.objects.get(user=admin)
    code = fresh_code(device)
    post_password(client, admin.email)
    assert post_totp(client, code).status_code == 302
    client.post("/studio/logout/")
    post_password(client, admin.email)
    replay = post_totp(client, code)
    assert replay.status_code == 400
    assert client.get(ME)["Location"].startswith("/studio/mfa/")


def test_an_older_code_than_the_last_used_one_is_refused(client, admin):
    device = TOTPDevice.objects.get(user=admin)
    step = int(__import__("time").time() // 30)
    post_password(client, admin.email)
    assert post_totp(client, totp_code(device, step=step + 1)).status_code == 302
    client.post("/studio/logout/")
    post_password(client, admin.email)
    assert post_totp(client, totp_code(device, step=step)).status_code == 400


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "http:/evil.example", "javascript:alert(1)"],
)
def test_next_never_leaves_the_site(client, admin, target):
    response = post_password(client, admin.email, next_url=target)
    assert response["Location"] == "/studio/mfa/"
    response = client.post(
        "/studio/mfa/", {"method": "totp", "totp-code": fresh_code(TOTPDevice.objects.get(user=admin)), "next": target}
    )
    assert response["Location"] == "/studio/"


def test_logout_is_post_only_and_ends_the_session(client, admin):
    sign_in(client, admin)
    assert client.get("/studio/logout/").status_code == 405
    old = session_key(client)
    response = client.post("/studio/logout/")
    assert response.status_code == 302 and response["Location"] == "/studio/login/"
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=old).exists()
    assert client.get(ME)["Location"].startswith("/studio/login/")
    assert "auth.logout" in actions()


def test_inactive_person_cannot_sign_in(client, admin):
    admin.is_active = False
    admin.save()
    response = post_password(client, admin.email)
    assert response.status_code == 200 and "The email or password is incorrect." in response.content.decode()


def test_createsuperuser_makes_the_first_admin_who_must_enrol(client, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", "--email", "first@example.com", verbosity=0)
    user = User.objects.get(email="first@example.com")
    assert user.is_superuser and user.check_password(PASSWORD)
    response = post_password(client, "first@example.com")
    assert response["Location"] == "/studio/mfa/?next=%2Fstudio%2Fme%2F"
    assert client.get(response["Location"])["Location"] == "/studio/mfa/enrol/?next=%2Fstudio%2Fme%2F"
    assert client.get(ME)["Location"].startswith("/studio/mfa/")


def test_backup_code_at_login_works_once(client, admin):
    from accounts.mfa.services import backup_codes_regenerate
    from accounts.principals import user_actor

    codes = backup_codes_regenerate(actor=user_actor(admin), user=admin)
    post_password(client, admin.email)
    assert post_backup(client, codes[0]).status_code == 302
    client.post("/studio/logout/")
    post_password(client, admin.email)
    assert post_backup(client, codes[0]).status_code == 400
    assert post_backup(client, codes[1].upper().replace("-", " ")).status_code == 302
