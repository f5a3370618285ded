"""mfa_reset: an account admin removes every MFA device of a person who lost them all, ends their
sessions, audits it in the same transaction — and the person must enrol again at their next sign-in."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django_otp_webauthn.models import WebAuthnCredential

from accounts.mfa.services import backup_codes_regenerate, mfa_reset
from accounts.models import BackupCode, BackupCodeDevice, TOTPDevice, User, UserSession
from accounts.principals import user_actor
from audit.models import AuditEvent
from tests.accounts.login_support import (  # noqa: F401  (autouse fixtures)
    ME,
    _fast_hashing_and_fresh_lockouts,
    post_password,
)
from tests.studio_support import login_client, make_person
from vaultstudio.errors import BadRequest

pytestmark = pytest.mark.django_db


def _passkey(user: User, n: int = 1) -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user, name=f"Key {n}", confirmed=True, credential_id=f"cred-{user.pk}-{n}".encode(), public_key=b"\x01"
    )


@pytest.fixture
def admin() -> User:
    return make_person("admin@example.com", roles=("ACCOUNT_ADMIN",))


@pytest.fixture
def person() -> User:
    """Every kind of factor: a TOTP app (and a pending one), two passkeys, backup codes, two sessions."""
    user = make_person("lost@example.com", roles=("AUDITOR",))
    TOTPDevice.objects.create_sealed(user=user, name="Pending", confirmed=False)
    _passkey(user, 1)
    _passkey(user, 2)
    backup_codes_regenerate(actor=user_actor(user), user=user)
    return user


def _devices(user: User) -> tuple[int, int, int, int]:
    return (
        TOTPDevice.objects.filter(user=user).count(),
        WebAuthnCredential.objects.filter(user=user).count(),
        BackupCodeDevice.objects.filter(user=user).count(),
        BackupCode.objects.filter(device__user=user).count(),
    )


def test_reset_removes_every_device_ends_sessions_and_audits_once(admin: User, person: User) -> None:
    clients = [login_client(Client(), person) for _ in range(2)]
    assert clients[0].get(ME).status_code == 200
    other = make_person("other@example.com")
    _passkey(other)
    before_other = _devices(other)
    assert _devices(person) == (2, 2, 1, 10)

    result = mfa_reset(actor=user_actor(admin), user=person)

    assert _devices(person) == (0, 0, 0, 0)
    assert _devices(other) == before_other  # nobody else's devices
    assert not UserSession.objects.filter(user=person).exists()
    assert all(s.get_decoded().get("_auth_user_id") != str(person.pk) for s in Session.objects.all())
    for client in clients:  # their open sessions are dead on the next click
        response = client.get(ME)
        assert response.status_code == 302 and response.url.startswith("/studio/login/")
    assert result.devices == {"backup": 1, "totp": 2, "webauthn": 2}
    assert result.backup_codes == 10 and result.sessions_ended == 2
    event = AuditEvent.objects.get(action="mfa.reset")
    assert event.actor_id == str(admin.pk) and json.loads(event.resource_ids) == [str(person.pk)]
    details = json.loads(event.details)
    assert details == {
        "email": person.email,
        "devices_removed": {"backup": 1, "totp": 2, "webauthn": 2},
        "backup_codes_removed": 10,
        "sessions_ended": 2,
    }
    person.refresh_from_db()
    assert person.is_active  # the person keeps their account, password and roles


def test_after_a_reset_the_next_sign_in_goes_to_enrolment(admin: User, person: User) -> None:
    mfa_reset(actor=user_actor(admin), user=person)
    client = Client()
    assert post_password(client, person.email).status_code == 302
    response = client.get(f"/studio/mfa/?next={ME}")
    assert response.status_code == 302 and response.url.startswith("/studio/mfa/enrol/")
    for url in (ME, "/studio/", "/studio/audit/"):  # nothing else until enrolled
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/studio/mfa/"), url
    assert client.get("/studio/mfa/enrol/").status_code == 200


def test_nobody_resets_their_own_mfa_this_way(admin: User) -> None:
    login_client(Client(), admin)
    before = _devices(admin)
    with pytest.raises(BadRequest, match="personal page"):
        mfa_reset(actor=user_actor(admin), user=admin)
    assert _devices(admin) == before and UserSession.objects.filter(user=admin).exists()
    assert not AuditEvent.objects.filter(action="mfa.reset").exists()


def test_reset_is_atomic_nothing_is_removed_if_the_audit_write_fails(admin: User, person: User) -> None:
    login_client(Client(), person)
    before = _devices(person)
    sessions = Session.objects.count()
    with mock.patch("accounts.mfa.services.audit_append", side_effect=RuntimeError("audit down")):
        with pytest.raises(RuntimeError):
            mfa_reset(actor=user_actor(admin), user=person)
    assert _devices(person) == before
    assert Session.objects.count() == sessions and UserSession.objects.filter(user=person).exists()
    assert not AuditEvent.objects.filter(action="mfa.reset").exists()


def test_reset_of_a_person_without_devices_is_still_audited(admin: User) -> None:
    bare = make_person("bare@example.com", mfa=None)
    result = mfa_reset(actor=user_actor(admin), user=bare)
    assert result.devices == {} and result.backup_codes == 0 and result.sessions_ended == 0
    assert json.loads(AuditEvent.objects.get(action="mfa.reset").details)["devices_removed"] == {}
