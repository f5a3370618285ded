"""The dashboard: every studio member reaches it; its sections follow the person's roles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import User
from audit.actors import Actor
from audit.services import CHAIN_BROKEN_CACHE_KEY, audit_append
from policies.models import ACCOUNT_ADMIN, AUDITOR, VAULT_OWNER, Role, RoleBinding
from tests.query_budget import assert_constant_queries
from tests.studio_support import login_client, make_person
from vaults.models import DataKey, Record, Table, Vault
from vaults.schema import parse_schema
from vaults.services import vault_create

pytestmark = pytest.mark.django_db

SCHEMA = {
    "tables": [
        {"name": "persons", "columns": [{"name": "name", "data_type": "string"}]},
        {"name": "cards", "columns": [{"name": "pan", "data_type": "string"}]},
    ]
}


@pytest.fixture(autouse=True)
def _clean(settings: Any) -> Any:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.delete(CHAIN_BROKEN_CACHE_KEY)
    yield
    cache.delete(CHAIN_BROKEN_CACHE_KEY)


def _vault(actor: Any, name: str, records: dict[str, int]) -> Vault:
    vault = vault_create(actor=actor, name=name, schema=parse_schema(SCHEMA))
    for table_name, n in records.items():
        table = Table.objects.get(vault=vault, name=table_name)
        Record.objects.bulk_create([Record(table=table, data={}) for _ in range(n)])  # counts only; no values needed
    return vault


def _get(client: Any, user: User) -> str:
    login_client(client, user)
    response = client.get(reverse("studio:dashboard"))
    assert response.status_code == 200
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert b"<script>" not in response.content and b'style="' not in response.content
    return response.content.decode()


def test_anonymous_and_roleless_people_are_kept_out(client: Any) -> None:
    response = client.get(reverse("studio:dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("studio:login"))
    login_client(client, make_person("nobody@example.com"))
    assert client.get(reverse("studio:dashboard")).status_code == 403


def test_vault_owner_sees_vaults_with_record_counts_in_constant_queries(
    client: Any, actor: Any, django_assert_max_num_queries: Any
) -> None:
    _vault(actor, "vault-0", {"persons": 0, "cards": 2})
    login_client(client, make_person("owner@example.com", roles=(VAULT_OWNER,)))

    def grow() -> None:
        for i in range(1, 8):
            _vault(actor, f"vault-{i}", {"persons": i, "cards": 2})

    assert_constant_queries(client, reverse("studio:dashboard"), grow, django_assert_max_num_queries)
    response = client.get(reverse("studio:dashboard"))
    html = response.content.decode()
    assert "vault-7" in html and '<td class="record-count">9</td>' in html and '<td class="record-count">2</td>' in html
    assert 'id="stat-records">44<' in html  # 0+…+7 persons + 8×2 cards
    assert "Your recent activity" in html and "Service accounts" not in html


def test_vault_owner_scoped_to_one_vault_sees_only_it(client: Any, actor: Any) -> None:
    mine = _vault(actor, "mine", {"persons": 3})
    _vault(actor, "theirs", {"persons": 5})
    owner = make_person("owner@example.com")
    RoleBinding.objects.create(role=Role.objects.get(name=VAULT_OWNER), user=owner, vault_id=mine.id)
    html = _get(client, owner)
    assert "mine" in html and "theirs" not in html


def test_rotation_due_alert_for_vault_owner(client: Any, actor: Any) -> None:
    old = _vault(actor, "old-keys", {})
    _vault(actor, "fresh-keys", {})
    DataKey.objects.filter(vault=old).update(created_at=timezone.now() - timedelta(days=old.rotation_period_days + 3))
    html = _get(client, make_person("owner@example.com", roles=(VAULT_OWNER,)))
    assert "Data key of vault <strong>old-keys</strong> was due for rotation" in html
    assert "vault <strong>fresh-keys</strong>" not in html and html.count("alert-bad") == 1


def test_account_admin_sees_expiring_keys_and_no_vaults(client: Any, actor: Any) -> None:
    _vault(actor, "customers", {"persons": 1})
    account = services.service_account_create(actor=actor, name="billing")
    services.service_account_key_generate(actor=actor, account=account, expires_at=timezone.now() + timedelta(days=6))
    services.service_account_key_generate(actor=actor, account=account, expires_at=timezone.now() + timedelta(days=200))
    html = _get(client, make_person("admin@example.com", roles=(ACCOUNT_ADMIN,)))
    assert "of service account" in html and "billing" in html and html.count("alert-warn") == 1
    assert "customers" not in html


def test_no_alerts_says_so(client: Any) -> None:
    html = _get(client, make_person("admin@example.com", roles=(ACCOUNT_ADMIN,)))
    assert 'id="no-alerts"' in html


def test_auditor_sees_everyones_recent_events_others_only_their_own(client: Any) -> None:
    auditor = make_person("auditor@example.com", roles=(AUDITOR,))
    owner = make_person("owner@example.com", roles=(VAULT_OWNER,))
    audit_append(actor=Actor("USER", str(owner.pk), owner.email), action="mine.action")
    audit_append(actor=Actor("USER", "someone", "else@example.com"), action="their.action")
    html = _get(client, auditor)
    assert "Recent audit events" in html and "mine.action" in html and "their.action" in html
    assert "Hash chain" in html
    client.cookies.clear()
    html = _get(client, owner)
    assert "Your recent activity" in html and "mine.action" in html and "their.action" not in html
    assert "Hash chain" not in html


def test_broken_chain_alert_shows_to_every_management_role(client: Any) -> None:
    cache.set(
        CHAIN_BROKEN_CACHE_KEY, {"valid": False, "checked": 4, "first_bad_seq": 3, "reason": "seq 3: hash mismatch"}
    )
    for roles in ((ACCOUNT_ADMIN,), (VAULT_OWNER,), (AUDITOR,)):
        client.cookies.clear()
        html = _get(client, make_person(f"{roles[0].lower()}@example.com", roles=roles))
        assert "The audit chain is broken" in html and "#3" in html


def test_analyst_with_only_a_custom_role_sees_only_their_own_activity(client: Any, actor: Any) -> None:
    _vault(actor, "customers", {"persons": 4})
    analyst = make_person("analyst@example.com")
    RoleBinding.objects.create(role=Role.objects.create(name="support-analysts"), user=analyst)
    audit_append(actor=Actor("USER", "someone", "else@example.com"), action="their.action")
    html = _get(client, analyst)
    assert "Your recent activity" in html and "their.action" not in html
    assert 'id="vaults"' not in html and 'id="alerts"' not in html and "Hash chain" not in html
