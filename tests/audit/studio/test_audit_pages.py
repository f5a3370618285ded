"""The audit viewer (AUDITOR): filters, cursor paging, event detail, chain status and verify, NDJSON export."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from accounts.models import User
from audit.actors import Actor
from audit.db import drop_append_only_triggers, install_append_only_triggers
from audit.models import AuditEvent
from audit.services import CHAIN_BROKEN_CACHE_KEY, audit_append
from policies.models import ACCOUNT_ADMIN, AUDITOR, VAULT_OWNER
from tests.query_budget import assert_constant_queries
from tests.studio_support import login_client, make_person
from vaults.models import Vault

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(client: Any) -> User:
    user = make_person("auditor@example.com", roles=(AUDITOR,))
    login_client(client, user)
    return user


@pytest.fixture(autouse=True)
def _no_chain_alert() -> Any:
    cache.delete(CHAIN_BROKEN_CACHE_KEY)
    yield
    cache.delete(CHAIN_BROKEN_CACHE_KEY)


def _events(n: int, **fields: Any) -> None:
    for i in range(n):
        audit_append(
            actor=Actor("USER", f"u{i}", fields.pop("display", "someone@example.com")), action="test.event", **fields
        )


@pytest.mark.parametrize("roles", [(ACCOUNT_ADMIN,), (VAULT_OWNER,), (ACCOUNT_ADMIN, VAULT_OWNER)])
def test_non_auditors_get_403_everywhere(client: Any, roles: tuple[str, ...]) -> None:
    login_client(client, make_person("x@example.com", roles=roles))
    _events(1)
    for url in (reverse("studio:audit"), reverse("studio:audit_event", args=[1]), reverse("studio:audit_export")):
        assert client.get(url).status_code == 403, url
    before = AuditEvent.objects.count()
    assert client.post(reverse("studio:audit_verify")).status_code == 403
    assert AuditEvent.objects.count() == before


def test_auditor_pages(client: Any, auditor: User) -> None:
    _events(3)
    for url in (reverse("studio:audit"), reverse("studio:audit_event", args=[2])):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert b"<script>" not in response.content and b'style="' not in response.content
    assert client.get(reverse("studio:audit_event", args=[999])).status_code == 404


def test_filters_actor_action_vault_decision_and_dates(client: Any, auditor: User, actor: Any) -> None:
    vault = Vault.objects.create(name="customers")
    audit_append(
        actor=Actor("USER", "a1", "alice@example.com"), action="records.read", vault_id=str(vault.id), decision="ALLOW"
    )
    audit_append(actor=Actor("USER", "b1", "bob@example.com"), action="records.read", decision="DENY")
    audit_append(actor=Actor("USER", "b1", "bob@example.com"), action="user.deactivate")
    url = reverse("studio:audit")

    def seqs(**query: str) -> set[int]:
        response = client.get(url, query)
        assert response.status_code == 200
        return {int(s) for s in re.findall(r'href="/studio/audit/events/(\d+)/"', response.content.decode())}

    alice, bob_read, bob_deact = (
        AuditEvent.objects.get(actor_display="alice@example.com").seq,
        AuditEvent.objects.get(action="records.read", decision="DENY").seq,
        AuditEvent.objects.get(action="user.deactivate").seq,
    )
    assert seqs(actor="bob@example.com") == {bob_read, bob_deact}
    assert seqs(action="records.*") == {alice, bob_read}
    assert seqs(vault=str(vault.id)) == {alice}
    assert seqs(decision="DENY") == {bob_read}
    today = datetime.now(UTC).date()
    assert {alice, bob_read, bob_deact} <= seqs(since=str(today), until=str(today))
    assert seqs(until=str(today - timedelta(days=1))) == set()
    assert "customers" in client.get(url, {"vault": str(vault.id)}).content.decode()


def test_bad_filters_show_errors(client: Any, auditor: User) -> None:
    response = client.get(reverse("studio:audit"), {"since": "2026-02-10", "until": "2026-02-01", "decision": "MAYBE"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "before the start date" in html and "not one of the available choices" in html


def test_cursor_paging_newest_first_in_constant_queries(
    client: Any, auditor: User, django_assert_max_num_queries: Any
) -> None:
    _events(3)
    url = reverse("studio:audit")
    assert_constant_queries(client, url, lambda: _events(120), django_assert_max_num_queries)
    first = client.get(url)
    html = first.content.decode()
    top = AuditEvent.objects.order_by("-seq").first().seq
    assert f"#{top}<" in html
    cursor = int(re.search(r"before=(\d+)", html).group(1))
    second = client.get(url, {"before": cursor}).content.decode()
    assert f"#{cursor - 1}<" in second and f"#{top}<" not in second and "Newest" in second


def test_event_detail_shows_chain_link_and_details(client: Any, auditor: User) -> None:
    audit_append(
        actor=Actor("USER", "u", "u@example.com"), action="x.y", details={"reason": "because"}, resource_ids=["r1"]
    )
    event = AuditEvent.objects.get(action="x.y")
    html = client.get(reverse("studio:audit_event", args=[event.seq])).content.decode()
    assert event.hash in html and event.prev_hash in html and "because" in html and "r1" in html


def test_verify_now_records_the_check_and_shows_status(client: Any, auditor: User) -> None:
    _events(5)
    html = client.get(reverse("studio:audit")).content.decode()
    assert "not verified yet" in html
    response = client.post(reverse("studio:audit_verify"), follow=True)
    html = response.content.decode()
    assert "The audit chain verifies" in html and "verified" in html
    check = AuditEvent.objects.filter(action="audit.verify").get()
    assert check.actor_id == str(auditor.pk) and json.loads(check.details)["valid"] is True


def test_verify_finds_a_tampered_event_and_the_alert_shows(client: Any, auditor: User) -> None:
    _events(5)
    drop_append_only_triggers(connection)
    try:
        AuditEvent.objects.filter(seq=3).update(action="tampered")
    finally:
        install_append_only_triggers(connection)
    response = client.post(reverse("studio:audit_verify"), follow=True)
    html = response.content.decode()
    assert "BROKEN" in html and "#3" in html
    assert AuditEvent.objects.filter(action="audit.chain.broken").exists()
    dashboard = client.get(reverse("studio:dashboard")).content.decode()
    assert "The audit chain is broken" in dashboard


def test_export_streams_ndjson_of_the_filtered_events_and_is_audited(client: Any, auditor: User) -> None:
    audit_append(actor=Actor("USER", "a", "a@example.com"), action="one.thing")
    audit_append(actor=Actor("USER", "b", "b@example.com"), action="other.thing")
    response = client.get(reverse("studio:audit_export"), {"action": "one.*"})
    assert response.status_code == 200 and response["Content-Type"] == "application/x-ndjson"
    assert "attachment" in response["Content-Disposition"]
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [e["action"] for e in lines] == ["one.thing"]
    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor_id == str(auditor.pk) and json.loads(export.details)["filters"] == {"action": "one.*"}


def test_export_with_bad_filters_exports_nothing(client: Any, auditor: User) -> None:
    response = client.get(reverse("studio:audit_export"), {"decision": "MAYBE"})
    assert response.status_code == 302 and response.url.startswith(reverse("studio:audit"))
    assert not AuditEvent.objects.filter(action="audit.export").exists()
