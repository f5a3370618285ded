"""End to end: an auditor filters the audit log, opens an event, verifies the chain and exports NDJSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import audit_append
from policies.models import AUDITOR
from tests.studio_support import browser_session_cookie, make_person
from vaults.models import Vault

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_auditor_filters_verifies_and_exports(
    context: Any, page: Any, studio_url: str, screenshot: Any, console_errors: list[str]
) -> None:
    auditor = make_person("auditor@example.com", roles=(AUDITOR,))
    vault = Vault.objects.create(name="customers")
    alice = Actor("USER", "a-1", "alice@example.com")
    for i in range(3):
        audit_append(
            actor=alice,
            action="records.read",
            vault_id=str(vault.id),
            table="persons",
            decision="ALLOW",
            record_count=i + 1,
        )
    audit_append(
        actor=Actor("SERVICE_ACCOUNT", "c-1", "billing-app"),
        action="records.read",
        vault_id=str(vault.id),
        decision="DENY",
        http_status=403,
    )
    audit_append(actor=alice, action="user.deactivate", resource_type="USER", resource_ids=["u-9"])
    context.add_cookies([browser_session_cookie(auditor, studio_url)])

    page.goto("/studio/audit/")
    assert "not verified yet" in page.locator("#chain-status").inner_text()
    assert page.locator("#events tbody tr").count() == 5

    page.select_option("#id_decision", "DENY")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**decision=DENY**")
    rows = page.locator("#events tbody tr")
    assert rows.count() == 1 and "billing-app" in rows.first.inner_text()

    page.get_by_role("link", name="Clear").click()
    page.fill("#id_actor", "alice@example.com")
    page.fill("#id_action", "records.*")
    page.select_option("#id_vault", str(vault.id))
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**actor=alice**")
    assert page.locator("#events tbody tr").count() == 3
    assert "customers.persons" in page.locator("#events").inner_text()

    page.click("text=Verify now")
    page.wait_for_selector("text=The audit chain verifies")
    status = page.locator("#chain-status").inner_text()
    assert "verified" in status and "auditor@example.com" in status
    screenshot(page, "audit")

    with page.expect_download() as download_info:
        page.click("#export-ndjson")
    lines = Path(download_info.value.path()).read_text().splitlines()
    exported = [json.loads(line) for line in lines]
    assert exported and exported[-1]["action"] == "audit.export"  # the export ends at its own event
    assert AuditEvent.objects.filter(action="audit.export", actor_id=str(auditor.pk)).count() == 1

    page.goto("/studio/audit/")
    page.locator("#events tbody tr").first.get_by_role("link").click()
    page.wait_for_selector("#event-details")
    assert "Chain link" in page.content()
    screenshot(page, "audit-event")
    # (Chromium's own /favicon.ico request 404s: not a page error.)
    assert not [e for e in console_errors if "Content Security Policy" in e or "Refused" in e], console_errors
