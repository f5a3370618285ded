"""Session rules: idle timeout and absolute lifetime enforced on the server, a deactivated person's
session dead on the next request, tracked sessions listed and ended from the personal page, and the
management API open to MFA-verified sessions only."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session

from accounts.models import TOTPDevice, UserSession
from accounts.sessions import LOGIN_AT_SESSION_KEY, SEEN_AT_SESSION_KEY, end_sessions
from audit.models import AuditEvent
from tests.accounts.login_support import (  # noqa: F401  (autouse fixtures)
    ME,
    _fast_hashing_and_fresh_lockouts,
    fresh_code,
    post_password,
    session_key,
    sign_in,
)
from tests.studio_support import login_client, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return make_person("admin@example.com", roles=("ACCOUNT_ADMIN",))


def shift_session(client, **seconds_back: float) -> None:
    """Move the session's stored times into the past (instead of sleeping)."""
    store = SessionStore(session_key=session_key(client))
    for name, back in seconds_back.items():
        key = {"login": LOGIN_AT_SESSION_KEY, "seen": SEEN_AT_SESSION_KEY}[name]
        store[key] = float(store[key]) - back
    store.save()


def test_signing_in_tracks_the_session(client, admin):
    sign_in(client, admin)
    row = UserSession.objects.get(user=admin)
    assert row.session_key == session_key(client)  # followed the key through both rotations
    assert row.ip == "127.0.0.1"
    page = client.get(ME).content.decode()
    assert "this session" in page and "End this session" in page


def test_idle_timeout(client, admin, settings):
    sign_in(client, admin)
    assert client.get(ME).status_code == 200
    shift_session(
        client, seen=settings.VAULTSTUDIO_SESSION_IDLE_SECONDS + 5, login=settings.VAULTSTUDIO_SESSION_IDLE_SECONDS + 5
    )
    response = client.get(ME)
    assert response.status_code == 302 and response["Location"].startswith("/studio/login/?next=")
    login_page = client.get(response["Location"]).content.decode()
    assert "Your session expired" in login_page
    assert not UserSession.objects.filter(user=admin).exists()
    assert AuditEvent.objects.filter(action="auth.logout", details__contains="idle_timeout").exists()


def test_activity_keeps_the_session_alive(client, admin, settings):
    sign_in(client, admin)
    shift_session(client, seen=settings.VAULTSTUDIO_SESSION_IDLE_SECONDS - 60)
    assert client.get(ME).status_code == 200
    assert client.get(ME).status_code == 200


def test_absolute_lifetime_even_when_active(client, admin, settings):
    sign_in(client, admin)
    shift_session(client, login=settings.VAULTSTUDIO_SESSION_ABSOLUTE_SECONDS + 1)
    response = client.get(ME)
    assert response["Location"].startswith("/studio/login/")
    assert AuditEvent.objects.filter(action="auth.logout", details__contains="absolute_timeout").exists()


def test_a_session_without_a_login_time_is_refused(client, admin):
    store = SessionStore()
    from tests.studio_support import session_state

    state = session_state(admin)
    del state[LOGIN_AT_SESSION_KEY]
    store.update(state)
    store.create()
    client.cookies["sessionid"] = store.session_key
    assert client.get(ME)["Location"].startswith("/studio/login/")


def test_deactivated_person_is_out_on_the_next_request(client, admin):
    sign_in(client, admin)
    key = session_key(client)
    admin.is_active = False
    admin.save()
    response = client.get(ME)
    assert response["Location"].startswith("/studio/login/")
    assert not Session.objects.filter(session_key=key).exists()


def test_end_sessions_ends_every_session_of_that_person_only(client, admin):
    other = make_person("other@example.com", roles=("ACCOUNT_ADMIN",))
    sign_in(client, admin)
    from django.test import Client

    second, third = Client(), Client()
    sign_in(second, admin)
    login_client(third, other)
    assert third.get(ME).status_code == 200  # tracked on its first request
    assert end_sessions(admin) == 2
    assert client.get(ME)["Location"].startswith("/studio/login/")
    assert second.get(ME)["Location"].startswith("/studio/login/")
    assert third.get(ME).status_code == 200
    assert UserSession.objects.filter(user=other).count() == 1


def test_ending_another_session_from_the_personal_page(client, admin):
    from django.test import Client

    sign_in(client, admin)
    other = Client()
    sign_in(other, admin)
    row = UserSession.objects.get(session_key=session_key(other))
    assert client.get(f"/studio/me/sessions/{row.pk}/end/").status_code == 405
    response = client.post(f"/studio/me/sessions/{row.pk}/end/")
    assert response["Location"] == ME
    assert other.get(ME)["Location"].startswith("/studio/login/")
    assert client.get(ME).status_code == 200
    assert AuditEvent.objects.filter(action="session.end").count() == 1


def test_ending_this_session_signs_out(client, admin):
    sign_in(client, admin)
    row = UserSession.objects.get(session_key=session_key(client))
    assert client.post(f"/studio/me/sessions/{row.pk}/end/")["Location"] == "/studio/login/"
    assert client.get(ME)["Location"].startswith("/studio/login/")


def test_someone_elses_session_cannot_be_ended(client, admin):
    from django.test import Client

    other_person = make_person("other@example.com", roles=("ACCOUNT_ADMIN",))
    victim = Client()
    sign_in(victim, other_person)
    row = UserSession.objects.get(user=other_person)
    sign_in(client, admin)
    client.post(f"/studio/me/sessions/{row.pk}/end/")
    assert victim.get(ME).status_code == 200


# --- the management API: a session must have passed MFA (zero trust) ------------------------------


def test_password_only_session_cannot_call_the_management_api(client, admin):
    post_password(client, admin.email)  # no MFA
    response = client.get("/api/v1/users/")
    assert response.status_code == 401


def test_verified_session_calls_the_api_and_csrf_is_enforced(admin):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login_client(client, admin)
    assert client.get("/api/v1/users/").status_code == 200
    refused = client.post("/api/v1/groups/", {"name": "g"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.content.decode()


def test_expired_session_is_refused_by_the_api(client, admin, settings):
    sign_in(client, admin)
    assert client.get("/api/v1/users/").status_code == 200
    shift_session(client, login=settings.VAULTSTUDIO_SESSION_ABSOLUTE_SECONDS + 1)
    assert client.get("/api/v1/users/").status_code == 401


def test_after_mfa_the_first_device_code_is_the_bound_device(client, admin):
    sign_in(client, admin)
    from django_otp import DEVICE_ID_SESSION_KEY

    store = SessionStore(session_key=session_key(client))
    assert store[DEVICE_ID_SESSION_KEY] == TOTPDevice.objects.get(user=admin).persistent_id
    assert fresh_code  # the helper used by sign_in


def _untracked_session(client, user):
    """A session made without the login page or the helpers' row (as a future SSO flow might)."""
    from tests.studio_support import session_state

    store = SessionStore()
    store.update(session_state(user))
    store.create()
    client.cookies["sessionid"] = store.session_key
    return client


def test_end_sessions_also_finds_a_session_made_without_the_login_page(admin):
    from django.test import Client

    untracked = _untracked_session(Client(), admin)
    assert not UserSession.objects.filter(user=admin).exists()
    assert end_sessions(admin) == 1
    assert untracked.get(ME)["Location"].startswith("/studio/login/")


def test_an_untracked_session_is_tracked_when_next_touched(admin):
    from django.test import Client

    untracked = _untracked_session(Client(), admin)
    shift_session(untracked, seen=60)
    assert untracked.get("/api/v1/users/").status_code == 200
    assert UserSession.objects.filter(user=admin, session_key=session_key(untracked)).exists()


def test_rows_of_sessions_that_expired_on_their_own_go_at_the_next_login(client, admin):
    from django.test import Client

    old = Client()
    sign_in(old, admin)
    Session.objects.filter(session_key=session_key(old)).delete()  # expired and cleared by the store
    sign_in(client, admin)
    assert list(UserSession.objects.filter(user=admin).values_list("session_key", flat=True)) == [session_key(client)]
