"""TOTP secrets sealed at rest (DESIGN.md §3 rule 4): no form of the secret in the database, a sealed
secret that opens only on its own row, and the TOTP rules (single use, drift tolerance, throttling)
unchanged by the sealing."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import time
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django_otp import device_classes
from django_otp.oath import hotp
from django_otp_webauthn.models import WebAuthnCredential

from accounts.keys import UnwrapError
from accounts.mfa import totp
from accounts.mfa.services import totp_device_start
from accounts.models import BackupCodeDevice, TOTPDevice
from audit.models import AuditEvent
from tests.accounts.login_support import (  # noqa: F401  (autouse fixtures)
    ME,
    _fast_hashing_and_fresh_lockouts,
    current_step,
    fresh_code,
    post_password,
    post_totp,
    sign_in,
    totp_code,
)
from tests.conftest import TEST_MASTER_KEY
from tests.studio_support import make_person
from vaultstudio.master_key import load_master_key

pytestmark = pytest.mark.django_db

OTHER_MASTER_KEY = base64.b64encode(b"\x07" * 32).decode()


def forms_of(secret: bytes) -> dict[str, bytes]:
    """Every way the secret could be written down: raw, hex, base32 (as apps take it), base64."""
    b32 = base64.b32encode(secret)
    return {
        "raw": secret,
        "hex": secret.hex().encode(),
        "base32": b32.rstrip(b"="),
        "base64": base64.b64encode(secret).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(secret).rstrip(b"="),
    }


def table_values(table: str) -> list[Any]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608  (a table name of ours)
        return [value for row in cursor.fetchall() for value in row]


def as_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode()


def leaks(secret: bytes, tables: list[str]) -> list[str]:
    found = []
    for table in tables:
        for value in table_values(table):
            if value is None:
                continue
            data = as_bytes(value)
            for name, form in forms_of(secret).items():
                # Text forms are searched in any case (hex and base32 have upper and lower spellings).
                if form in data or (name != "raw" and form.lower() in data.lower()):
                    found.append(f"{table}: {name}")
    return found


def code_of(secret: bytes, step: int) -> str:
    return f"{hotp(secret, step):06d}"


def test_no_form_of_the_secret_is_stored_anywhere_after_enrolment(client) -> None:
    person = make_person("new@example.com", roles=("ACCOUNT_ADMIN",), mfa=None)
    post_password(client, person.email)
    page = client.get("/studio/mfa/enrol/totp/").content.decode()
    match = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert match
    shown = match.group(1)
    secret = base64.b32decode(shown + "=" * (-len(shown) % 8))
    response = client.post(
        "/studio/mfa/enrol/totp/", {"name": "Phone", "code": code_of(secret, int(time.time() // 30)), "next": ME}
    )
    assert response.status_code == 302
    device = TOTPDevice.objects.get(user=person, confirmed=True)
    assert device.bin_key == secret  # the secret the page showed is the one sealed

    assert leaks(secret, [TOTPDevice._meta.db_table]) == []
    # Nor in any other table: audit events, sessions, anything written along the way.
    assert leaks(secret, connection.introspection.table_names()) == []


def test_the_search_would_find_a_plaintext_secret() -> None:
    # The test above is only worth something if the search finds what it looks for.
    person = make_person("p@example.com")
    device = TOTPDevice.objects.get(user=person)
    secret = device.bin_key
    TOTPDevice.objects.filter(pk=device.pk).update(name=secret.hex().upper())
    assert leaks(secret, [TOTPDevice._meta.db_table]) == [f"{TOTPDevice._meta.db_table}: hex"]
    TOTPDevice.objects.filter(pk=device.pk).update(name=totp.base32(secret).lower())
    assert leaks(secret, [TOTPDevice._meta.db_table]) == [f"{TOTPDevice._meta.db_table}: base32"]


def test_the_sealed_secret_is_aes_gcm_bound_to_person_and_row() -> None:
    person = make_person("p@example.com")
    device = TOTPDevice.objects.get(user=person)
    raw = base64.b64decode(device.sealed_key)
    assert len(raw) == 12 + totp.SECRET_BYTES + 16  # nonce, ciphertext, tag
    assert totp.secret_aad(user_id=person.pk, seal_id=device.seal_id) == f"totp:{person.pk}:{device.seal_id}".encode()
    # The same secret sealed twice differs (a fresh nonce each time).
    assert totp.seal_secret(device.bin_key, user_id=person.pk, seal_id=device.seal_id) != device.sealed_key


def test_a_device_without_a_sealed_secret_cannot_be_stored() -> None:
    person = make_person("p@example.com", mfa=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        TOTPDevice.objects.create(user=person, name="No secret", confirmed=True)


def test_only_devices_of_ours_are_installed() -> None:
    # django-otp's devices_for_user walks every installed device model: no plaintext-secret type is one.
    assert set(device_classes()) == {TOTPDevice, BackupCodeDevice, WebAuthnCredential}


def test_one_persons_sealed_secret_on_anothers_row_is_a_failed_mfa_check(client, caplog) -> None:
    alice = make_person("alice@example.com", roles=("ACCOUNT_ADMIN",))
    bob = make_person("bob@example.com", roles=("ACCOUNT_ADMIN",))
    alices = TOTPDevice.objects.get(user=alice)
    alice_secret = alices.bin_key
    TOTPDevice.objects.filter(user=bob).update(sealed_key=alices.sealed_key)
    bobs = TOTPDevice.objects.get(user=bob)
    with pytest.raises(UnwrapError):
        bobs.bin_key  # noqa: B018

    post_password(client, bob.email)
    with caplog.at_level(logging.ERROR, logger="accounts.models"):
        response = post_totp(client, code_of(alice_secret, int(time.time() // 30)))
    assert response.status_code == 400 and "not valid" in response.content.decode()
    assert client.get(ME)["Location"].startswith("/studio/mfa/")  # still not past MFA
    failure = AuditEvent.objects.filter(action="auth.mfa.failure").get()
    assert failure.decision == "DENY" and json.loads(failure.resource_ids) == [str(bob.pk)]
    assert json.loads(failure.details)["device_kind"] == "totp"
    assert "does not open" in caplog.text and str(bobs.pk) in caplog.text
    bobs.refresh_from_db()
    assert bobs.throttling_failure_count == 1 and bobs.last_t == -1  # counted as a wrong code


def test_moving_the_row_id_along_with_the_sealed_secret_does_not_help(client) -> None:
    alice = make_person("alice@example.com", roles=("ACCOUNT_ADMIN",))
    bob = make_person("bob@example.com", roles=("ACCOUNT_ADMIN",))
    alices = TOTPDevice.objects.get(user=alice)
    alice_secret, sealed, seal_id = alices.bin_key, alices.sealed_key, alices.seal_id
    alices.delete()  # seal_id is unique: free it, then give bob's row both halves of alice's
    TOTPDevice.objects.filter(user=bob).update(sealed_key=sealed, seal_id=seal_id)
    post_password(client, bob.email)
    response = post_totp(client, code_of(alice_secret, int(time.time() // 30)))
    assert response.status_code == 400
    assert AuditEvent.objects.filter(action="auth.mfa.failure").count() == 1


def test_a_sealed_secret_moved_between_one_persons_own_devices_does_not_open() -> None:
    person = make_person("p@example.com")
    first = TOTPDevice.objects.get(user=person)
    second = TOTPDevice.objects.create_sealed(user=person, name="Second", confirmed=True)
    second.sealed_key = first.sealed_key
    with pytest.raises(UnwrapError):
        second.bin_key  # noqa: B018
    assert not second.verify_token(totp_code(first))


def test_an_altered_sealed_secret_is_a_wrong_code_not_an_error(client) -> None:
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    device = TOTPDevice.objects.get(user=person)
    secret = device.bin_key
    for altered in ("not base64 at all!", base64.b64encode(b"short").decode(), device.sealed_key[:-4] + "AAAA"):
        TOTPDevice.objects.filter(pk=device.pk).update(sealed_key=altered, throttling_failure_count=0)
        device.refresh_from_db()
        assert device.verify_token(code_of(secret, int(time.time() // 30))) is False


def test_a_device_verifies_after_the_master_key_is_loaded_afresh(settings) -> None:
    person = make_person("p@example.com")
    device = TOTPDevice.objects.get(user=person)
    secret = device.bin_key
    # A fresh process: nothing cached, the master key read again from the settings (base64).
    load_master_key.cache_clear()
    settings.VAULTSTUDIO_MASTER_KEY = TEST_MASTER_KEY
    fresh = TOTPDevice.objects.get(pk=device.pk)
    assert fresh.verify_token(code_of(secret, current_step(fresh)))


def test_under_another_master_key_the_secret_does_not_open_and_enrolment_starts_anew(client, settings) -> None:
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",), mfa=None)
    pending = totp_device_start(user=person)
    confirmed = TOTPDevice.objects.create_sealed(user=person, name="Phone", confirmed=True)
    secret = confirmed.bin_key
    load_master_key.cache_clear()
    settings.VAULTSTUDIO_MASTER_KEY = OTHER_MASTER_KEY
    confirmed.refresh_from_db()
    assert confirmed.verify_token(code_of(secret, int(time.time() // 30))) is False
    # A pending enrolment sealed under the old key is replaced by a new one, not shown broken.
    restarted = totp_device_start(user=person, pending_id=pending.pk)
    assert restarted.pk != pending.pk and not TOTPDevice.objects.filter(pk=pending.pk).exists()
    assert len(restarted.bin_key) == totp.SECRET_BYTES


def test_a_code_is_accepted_once_even_by_two_racing_checks() -> None:
    person = make_person("p@example.com")
    first = TOTPDevice.objects.get(user=person)
    second = TOTPDevice.objects.get(user=person)  # loaded before either check: last_t -1 in both
    code = totp_code(first)
    assert first.verify_token(code) is True
    assert second.verify_token(code) is False  # the step was claimed by the first check
    first.refresh_from_db()
    # The failed check counted against the device without writing its stale last_t back.
    assert first.last_t >= current_step(first) - 1 and first.last_used_at is not None
    assert first.throttling_failure_count == 1
    first.throttle_reset()
    assert TOTPDevice.objects.get(pk=first.pk).verify_token(code) is False


def test_drift_tolerance_is_one_step_each_way_and_is_learnt(monkeypatch) -> None:
    person = make_person("p@example.com")
    behind = TOTPDevice.objects.get(user=person)
    ahead = TOTPDevice.objects.create_sealed(user=person, name="Fast clock", confirmed=True)
    now = 1_800_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    step = int(now // 30)

    assert behind.verify_token(totp_code(behind, step=step - 2)) is False  # beyond the tolerance
    assert ahead.verify_token(totp_code(ahead, step=step + 2)) is False
    behind.throttle_reset()
    ahead.throttle_reset()
    assert behind.verify_token(totp_code(behind, step=step - 1)) is True  # one step behind our clock
    assert ahead.verify_token(totp_code(ahead, step=step + 1)) is True  # one step ahead
    behind.refresh_from_db()
    ahead.refresh_from_db()
    assert (behind.last_t, behind.drift) == (step - 1, -1)
    assert (ahead.last_t, ahead.drift) == (step + 1, 1)
    assert behind.verify_token(totp_code(behind, step=step - 1)) is False  # never a step twice
    # The drift is learnt: the window now centres on the app's clock, so two steps behind ours is
    # within reach for the slow app (and its next code, ``step``, too).
    behind.throttle_reset()
    now += 30
    assert behind.verify_token(totp_code(behind, step=step)) is True


def test_a_wrong_code_makes_the_next_try_wait(settings) -> None:
    settings.VAULTSTUDIO_TOTP_THROTTLE_FACTOR = 1
    person = make_person("p@example.com")
    device = TOTPDevice.objects.get(user=person)
    assert device.verify_token("000000" if totp_code(device) != "000000" else "111111") is False
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    assert device.verify_token(fresh_code(device)) is False  # right code, too soon after a wrong one
    settings.VAULTSTUDIO_TOTP_THROTTLE_FACTOR = 0
    assert device.verify_token(fresh_code(device)) is True
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_the_qr_code_names_the_issuer_and_holds_the_secret(settings) -> None:
    settings.VAULTSTUDIO_TOTP_ISSUER = "Acme: Vault"
    person = make_person("p@example.com")
    device = TOTPDevice.objects.get(user=person)
    assert device.config_url == (
        f"otpauth://totp/Acme%20Vault%3Ap%40example.com?secret={totp.base32(device.bin_key)}"
        "&algorithm=SHA1&digits=6&period=30&issuer=Acme%20Vault"
    )


def test_sign_in_with_a_sealed_totp_device_end_to_end(client) -> None:
    person = make_person("p@example.com", roles=("ACCOUNT_ADMIN",))
    response = sign_in(client, person)
    assert response.status_code == 302 and response["Location"] == ME
    assert client.get(ME).status_code == 200


def test_after_a_master_key_change_rewrap_makes_the_apps_work_again(settings, tmp_path) -> None:
    alice = make_person("alice@example.com")
    bob = make_person("bob@example.com")
    devices = list(TOTPDevice.objects.filter(user__in=[alice, bob]).order_by("pk"))
    secrets_before = {d.pk: d.bin_key for d in devices}
    broken = TOTPDevice.objects.create_sealed(user=bob, name="Broken", confirmed=True)
    TOTPDevice.objects.filter(pk=broken.pk).update(sealed_key=devices[0].sealed_key)  # opens under no key
    previous = tmp_path / "previous.key"
    previous.write_text(TEST_MASTER_KEY + "\n")
    settings.VAULTSTUDIO_TOTP_THROTTLE_FACTOR = 0  # the failed check below must not delay the next

    load_master_key.cache_clear()
    settings.VAULTSTUDIO_MASTER_KEY = OTHER_MASTER_KEY  # the master key has changed
    first = TOTPDevice.objects.get(pk=devices[0].pk)
    assert first.verify_token(code_of(secrets_before[first.pk], current_step(first))) is False
    for device in TOTPDevice.objects.filter(pk__in=secrets_before):
        with pytest.raises(UnwrapError):
            device.bin_key  # noqa: B018

    out, err = io.StringIO(), io.StringIO()
    call_command("rewrap_totp_secrets", previous_key_file=str(previous), stdout=out, stderr=err)
    assert "2 TOTP secret(s) re-sealed" in out.getvalue() and f"ids [{broken.pk}]" in err.getvalue()
    for pk, secret in secrets_before.items():
        device = TOTPDevice.objects.get(pk=pk)
        assert device.bin_key == secret
        assert device.verify_token(code_of(secret, current_step(device)))
    event = AuditEvent.objects.filter(action="mfa.totp.rewrap").get()
    assert json.loads(event.details) == {"rewrapped": 2, "current": 0, "unreadable": [broken.pk]}
    assert sorted(json.loads(event.resource_ids)) == sorted(str(pk) for pk in secrets_before)

    # Idempotent: a second run finds them current.
    out = io.StringIO()
    call_command("rewrap_totp_secrets", previous_key_file=str(previous), stdout=out, stderr=io.StringIO())
    assert "0 TOTP secret(s) re-sealed under the current master key; 2 already were." in out.getvalue()


def test_rewrap_refuses_an_unusable_previous_key_file(tmp_path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("rewrap_totp_secrets", previous_key_file=str(tmp_path / "absent.key"))
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    with pytest.raises(CommandError, match="base64 of 32 random bytes"):
        call_command("rewrap_totp_secrets", previous_key_file=str(bad))
    assert not AuditEvent.objects.filter(action="mfa.totp.rewrap").exists()
