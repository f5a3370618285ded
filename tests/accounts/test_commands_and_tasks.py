"""manage.py demo, rotate_signing_key, and the key-expiry reminder sweep."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ServiceAccount, ServiceAccountKey
from accounts.services import key_expiry_sweep
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_demo_is_idempotent_and_its_credentials_get_a_token(tmp_path, api, token_for):
    call_command("demo", out=str(tmp_path))
    path = tmp_path / "demo-auditor-credentials.json"
    first = json.loads(path.read_text())
    assert path.stat().st_mode & 0o777 == 0o600
    call_command("demo", out=str(tmp_path))
    assert json.loads(path.read_text()) == first
    assert ServiceAccount.objects.filter(name="demo-auditor").count() == 1
    assert ServiceAccountKey.objects.filter(service_account__name="demo-auditor").count() == 1
    assert token_for(first)


def test_demo_replaces_a_revoked_key(tmp_path, actor):
    from accounts.services import service_account_key_revoke

    call_command("demo", out=str(tmp_path))
    key = ServiceAccountKey.objects.get(service_account__name="demo-auditor")
    service_account_key_revoke(actor=actor, key=key)
    call_command("demo", out=str(tmp_path))
    new = json.loads((tmp_path / "demo-auditor-credentials.json").read_text())
    assert new["keyID"] != str(key.key_id)


def test_rotate_signing_key_command(capsys):
    from accounts.models import SigningKey

    call_command("rotate_signing_key")
    call_command("rotate_signing_key")
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1
    assert SigningKey.objects.count() == 2
    assert AuditEvent.objects.filter(action="signing_key.rotate").count() == 2


def test_key_expiry_reminders_each_threshold_once(service_account_factory, actor):
    from accounts.models import User

    account, key, _ = service_account_factory()
    owner = User.objects.create_user("owner@example.com", "x" * 16)
    account.owners.add(owner)
    now = timezone.now()
    ServiceAccountKey.objects.filter(pk=key.pk).update(expires_at=now + timedelta(days=20))
    assert key_expiry_sweep(now=now) == 1  # 30-day reminder
    assert key_expiry_sweep(now=now) == 0  # not twice
    assert key_expiry_sweep(now=now + timedelta(days=14)) == 1  # 7-day reminder
    assert key_expiry_sweep(now=now + timedelta(days=19, hours=1)) == 1  # 1-day reminder
    assert key_expiry_sweep(now=now + timedelta(days=19, hours=2)) == 0
    assert sorted(ServiceAccountKey.objects.get(pk=key.pk).reminders_sent) == [1, 7, 30]
    assert len(mail.outbox) == 3 and mail.outbox[0].to == ["owner@example.com"]
    events = AuditEvent.objects.filter(action="service_account.key.expiry_reminder")
    assert [json.loads(e.details)["days"] for e in events] == [30, 7, 1]


def test_a_key_found_late_gets_one_reminder_not_three(service_account_factory):
    _, key, _ = service_account_factory()
    now = timezone.now()
    ServiceAccountKey.objects.filter(pk=key.pk).update(expires_at=now + timedelta(hours=12))
    assert key_expiry_sweep(now=now) == 1
    assert sorted(ServiceAccountKey.objects.get(pk=key.pk).reminders_sent) == [1, 7, 30]
    assert key_expiry_sweep(now=now) == 0


def test_revoked_and_expired_keys_get_no_reminder(service_account_factory, actor):
    from accounts.services import service_account_key_revoke

    _, key, _ = service_account_factory()
    _, key2, _ = service_account_factory()
    now = timezone.now()
    ServiceAccountKey.objects.filter(pk__in=[key.pk, key2.pk]).update(expires_at=now + timedelta(days=3))
    service_account_key_revoke(actor=actor, key=ServiceAccountKey.objects.get(pk=key.pk))
    ServiceAccountKey.objects.filter(pk=key2.pk).update(expires_at=now - timedelta(days=1))
    assert key_expiry_sweep(now=now) == 0


def test_an_update_that_changes_nothing_writes_no_event(service_account_factory, actor):
    from accounts.services import service_account_update

    account, _, _ = service_account_factory()
    service_account_update(actor=actor, account=account, is_active=False)
    before = AuditEvent.objects.count()
    service_account_update(actor=actor, account=account, is_active=False)
    assert AuditEvent.objects.count() == before
    service_account_update(actor=actor, account=account, is_active=True)
    assert AuditEvent.objects.filter(action="service_account.activate").count() == 1


def test_demo_follows_a_moved_server(tmp_path, settings):
    call_command("demo", out=str(tmp_path))
    path = tmp_path / "demo-auditor-credentials.json"
    before = json.loads(path.read_text())
    settings.VAULTSTUDIO_BASE_URL = "http://127.0.0.1:9999"
    call_command("demo", out=str(tmp_path))
    after = json.loads(path.read_text())
    assert after["tokenURI"] == "http://127.0.0.1:9999/v1/auth/sa/oauth/token"
    assert after["keyID"] == before["keyID"] and after["privateKey"] == before["privateKey"]


def test_demo_seeds_a_vault_that_the_two_accounts_read_differently(tmp_path, api):
    from vaults.models import Vault

    call_command("demo", out=str(tmp_path))
    call_command("demo", out=str(tmp_path))  # idempotent: nothing twice
    vault = Vault.objects.get(name="demo")
    views = {}
    for name in ("demo-plain", "demo-masked"):
        creds = json.loads((tmp_path / f"{name}-credentials.json").read_text())
        from tests.conftest import make_assertion

        token = api.post(
            "/v1/auth/sa/oauth/token",
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": make_assertion(creds)},
            format="json",
        ).json()
        client = api.__class__()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token['accessToken']}")
        response = client.get(f"/v1/vaults/{vault.id}/persons", {"redaction": "PLAIN_TEXT", "order_by": "ASCENDING"})
        assert response.status_code == 200, response.content
        views[name] = [r["fields"] for r in response.json()["records"]]
    assert len(views["demo-plain"]) == 3
    assert {p["name"] for p in views["demo-plain"]} == {"Ada Lovelace", "Alan Turing", "Grace Hopper"}
    assert all(p["ssn"].startswith("***-**-") for p in views["demo-masked"])
    assert not {p["name"] for p in views["demo-masked"]} & {"Ada Lovelace", "Alan Turing", "Grace Hopper"}
