"""MFA devices: TOTP enrolment by QR (confirmed before it counts), backup codes shown once and stored
hashed, adding and removing devices behind step-up, passkey registration rules."""

from __future__ import annotations

import re

import pytest

from accounts.mfa import backup_codes
from accounts.mfa.services import backup_codes_regenerate
from accounts.models import BackupCode, BackupCodeDevice, TOTPDevice
from accounts.principals import user_actor
from audit.models import AuditEvent
from tests.accounts.login_support import (  # noqa: F401  (autouse fixtures)
    ME,
    _fast_hashing_and_fresh_lockouts,
    fresh_code,
    post_password,
    totp_code,
)
from tests.studio_support import login_client, make_person

pytestmark = pytest.mark.django_db


def secret_on(page: str) -> str:
    match = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert match, "the base32 secret is shown as text"
    return match.group(1)


def test_first_enrolment_by_totp_then_backup_codes_once(client, settings):
    settings.VAULTSTUDIO_TOTP_THROTTLE_FACTOR = 0  # django-otp makes the next try wait after a wrong code
    person = make_person("new@example.com", roles=("ACCOUNT_ADMIN",), mfa=None)
    post_password(client, person.email)
    assert client.get("/studio/mfa/?next=/studio/me/")["Location"] == "/studio/mfa/enrol/?next=%2Fstudio%2Fme%2F"
    page = client.get("/studio/mfa/enrol/totp/?next=/studio/me/")
    body = page.content.decode()
    assert page.status_code == 200 and 'src="data:image/svg+xml' in body
    secret = secret_on(body)
    device = TOTPDevice.objects.get(user=person)
    assert not device.confirmed  # not a device until a code confirms it
    assert client.get(ME)["Location"].startswith("/studio/mfa/")
    # Reloading keeps the same secret (the one the app scanned).
    assert secret_on(client.get("/studio/mfa/enrol/totp/").content.decode()) == secret

    wrong = client.post("/studio/mfa/enrol/totp/", {"name": "Phone", "code": "123456", "next": ME})
    assert wrong.status_code == 400 and "does not match" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    response = client.post("/studio/mfa/enrol/totp/", {"name": "Phone", "code": fresh_code(device), "next": ME})
    assert response.status_code == 302 and response["Location"] == "/studio/mfa/backup-codes/?next=%2Fstudio%2Fme%2F"
    device.refresh_from_db()
    assert device.confirmed and device.name == "Phone"
    shown = client.get(response["Location"]).content.decode()
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", shown)
    assert len(codes) == 10 and len(set(codes)) == 10
    # Once only.
    again = client.get(response["Location"]).content.decode()
    assert not re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", again)
    # The session is verified now: the personal page opens.
    assert client.get(ME).status_code == 200
    assert {"mfa.device.create", "auth.mfa.success", "mfa.backup_codes.regenerate"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_backup_codes_are_stored_hashed_never_in_plaintext():
    person = make_person("p@example.com")
    codes = backup_codes_regenerate(actor=user_actor(person), user=person)
    stored = list(BackupCode.objects.values_list("digest", flat=True))
    assert len(stored) == 10
    for code in codes:
        assert all(backup_codes.normalize(code) not in digest and code not in digest for digest in stored)
    device = BackupCodeDevice.objects.get(user=person)
    assert backup_codes.digest(device.pk, codes[0]) in stored
    # Bound to the device: the same code under another device has another digest.
    assert backup_codes.digest(device.pk + 1, codes[0]) != backup_codes.digest(device.pk, codes[0])


def test_backup_code_is_consumed_on_use_and_regeneration_replaces_all():
    person = make_person("p@example.com")
    codes = backup_codes_regenerate(actor=user_actor(person), user=person)
    device = BackupCodeDevice.objects.get(user=person)
    assert device.verify_token(codes[3])
    assert not device.verify_token(codes[3])
    assert device.codes.count() == 9
    assert not device.verify_token("zzzzz-zzzzz") and not device.verify_token("")
    new = backup_codes_regenerate(actor=user_actor(person), user=person)
    assert device.codes.count() == 10
    assert not device.verify_token(codes[0]) and device.verify_token(new[0])


def test_enrolment_pages_are_only_for_people_without_a_device(client):
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    assert client.get("/studio/mfa/enrol/")["Location"].startswith("/studio/login/")
    post_password(client, person.email)
    # Enrolled already: adding a device before MFA would bypass it.
    assert client.get("/studio/mfa/enrol/totp/")["Location"].startswith("/studio/mfa/")
    assert client.post("/studio/webauthn/registration/begin/").status_code == 403


def test_adding_a_totp_device_needs_step_up(client):
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    login_client(client, person, mfa_recent=False)
    response = client.get("/studio/me/devices/add/totp/")
    assert response.status_code == 302
    assert response["Location"] == "/studio/step-up/?next=%2Fstudio%2Fme%2Fdevices%2Fadd%2Ftotp%2F"
    # Passkey registration checks the same through its JSON endpoint.
    assert client.post("/studio/webauthn/registration/begin/").json()["code"] == "step_up_required"


def test_step_up_then_add_a_second_totp_device(client):
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    first = TOTPDevice.objects.get(user=person)
    login_client(client, person, mfa_recent=False)
    step_up = client.post(
        "/studio/step-up/", {"method": "totp", "totp-code": fresh_code(first), "next": "/studio/me/devices/add/totp/"}
    )
    assert step_up["Location"] == "/studio/me/devices/add/totp/"
    page = client.get("/studio/me/devices/add/totp/")
    assert page.status_code == 200
    pending = TOTPDevice.objects.get(user=person, confirmed=False)
    response = client.post("/studio/me/devices/add/totp/", {"name": "Backup phone", "code": fresh_code(pending)})
    assert response["Location"] == ME
    assert TOTPDevice.objects.filter(user=person, confirmed=True).count() == 2
    assert "Backup phone" in client.get(ME).content.decode()


def test_removing_a_device_needs_step_up_and_never_the_last_one(client):
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    only = TOTPDevice.objects.get(user=person)
    login_client(client, person, mfa_recent=False)
    url = f"/studio/me/devices/totp/{only.pk}/remove/"
    assert client.post(url)["Location"].startswith("/studio/step-up/?next=")
    assert TOTPDevice.objects.filter(pk=only.pk).exists()
    client.cookies.clear()
    login_client(client, person)
    response = client.post(url)
    assert response["Location"] == ME
    assert TOTPDevice.objects.filter(pk=only.pk).exists()
    assert "only authenticator" in client.get(ME).content.decode()

    second = TOTPDevice.objects.create_sealed(user=person, name="Second", confirmed=True)
    assert client.get(url).status_code == 200  # the confirmation page
    assert client.post(f"/studio/me/devices/totp/{second.pk}/remove/")["Location"] == ME
    assert not TOTPDevice.objects.filter(pk=second.pk).exists()
    assert AuditEvent.objects.filter(action="mfa.device.delete").count() == 1


def test_another_persons_device_cannot_be_removed(client):
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    other = make_person("o@example.com", roles=("ACCOUNT_ADMIN",))
    TOTPDevice.objects.create_sealed(user=other, name="Second", confirmed=True)
    target = TOTPDevice.objects.filter(user=other).first()
    login_client(client, person)
    client.post(f"/studio/me/devices/totp/{target.pk}/remove/")
    assert TOTPDevice.objects.filter(pk=target.pk).exists()


def test_regenerating_backup_codes_needs_step_up_and_shows_them_once(client):
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    login_client(client, person, mfa_recent=False)
    assert client.post("/studio/me/backup-codes/regenerate/")["Location"].startswith("/studio/step-up/")
    assert not BackupCodeDevice.objects.filter(user=person).exists()
    client.cookies.clear()
    login_client(client, person)
    assert client.get("/studio/me/backup-codes/regenerate/").status_code == 200
    response = client.post("/studio/me/backup-codes/regenerate/")
    shown = client.get(response["Location"]).content.decode()
    assert len(re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", shown)) == 10
    assert "10 of 10" in client.get(ME).content.decode()


def test_step_up_with_a_backup_code_and_its_reuse(client):
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    codes = backup_codes_regenerate(actor=user_actor(person), user=person)
    login_client(client, person, mfa_recent=False)
    ok = client.post("/studio/step-up/", {"method": "backup", "backup-code": codes[0], "next": ME})
    assert ok["Location"] == ME
    again = client.post("/studio/step-up/", {"method": "backup", "backup-code": codes[0], "next": ME})
    assert again.status_code == 400


def test_step_up_refuses_open_redirects(client):
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    device = TOTPDevice.objects.get(user=person)
    login_client(client, person, mfa_recent=False)
    response = client.post(
        "/studio/step-up/", {"method": "totp", "totp-code": fresh_code(device), "next": "https://evil.example/x"}
    )
    assert response["Location"] == ME


def test_step_up_rotates_nothing_it_should_not_and_marks_the_time(client):
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    device = TOTPDevice.objects.get(user=person)
    login_client(client, person, mfa_recent=False)
    assert client.get("/studio/me/backup-codes/regenerate/").status_code == 302
    client.post("/studio/step-up/", {"method": "totp", "totp-code": fresh_code(device), "next": ME})
    assert client.get("/studio/me/backup-codes/regenerate/").status_code == 200


def test_mfa_page_offers_what_the_person_has(client):
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    post_password(client, person.email)
    body = client.get("/studio/mfa/").content.decode()
    assert 'name="totp-code"' in body
    assert "passkey-verification-placeholder" not in body  # no passkey: no passkey button
    assert "backup-code" not in body
    assert totp_code(TOTPDevice.objects.get(user=person))  # sanity: the helper computes codes
