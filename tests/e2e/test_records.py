"""The records browser in Chromium: values masked by default; an analyst whose policy grants PLAIN_TEXT
sees a value in plain text only after a reveal with step-up (audited); an analyst whose policy says
MASKED never sees plain text, reveal or not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.studio_support import browser_session_cookie
from tests.vaults.studio.support import MASKED_POLICY, PEOPLE, PLAIN_POLICY, analyst, persons_vault

pytestmark = pytest.mark.django_db(transaction=True)

PLAINTEXTS = [p[c] for p in PEOPLE for c in ("name", "email", "ssn", "card_number")]


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _real(errors: list[str]) -> list[str]:
    """Console errors but the browser's own request for /favicon.ico (the studio has no icon)."""
    return [e for e in errors if "404 (Not Found)" not in e]


def _log_in(context: Any, person: Any, studio_url: str, *, mfa_recent: bool = True) -> None:
    context.clear_cookies()
    context.add_cookies([browser_session_cookie(person, studio_url, mfa_recent=mfa_recent)])


def _assert_no_plaintext(page: Any) -> None:
    text = page.content()
    for value in PLAINTEXTS:
        assert value not in text, value


def _ada_ssn_cell(page: Any) -> Any:
    return page.locator("tr", has=page.locator('td[data-column="ssn"]', has_text="6789")).locator(
        'td[data-column="ssn"]'
    )


def test_plain_text_only_after_a_reveal_with_step_up(
    page: Any, context: Any, studio_url: str, screenshot: Any, console_errors: list[str]
) -> None:
    vault = persons_vault(name="customers")
    person = analyst("analyst@example.com", vault, PLAIN_POLICY)
    url = reverse("studio:table_records", kwargs={"vault_id": vault.id, "table": "persons"})

    # A stale MFA check: the browser shows masked values; Reveal is sent to step-up first.
    _log_in(context, person, studio_url, mfa_recent=False)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(url)
    assert page.locator("table.records tbody tr").count() == 3
    cell = _ada_ssn_cell(page)
    assert cell.locator(".value-masked").inner_text() == "***-**-6789"
    _assert_no_plaintext(page)
    screenshot(page, "records-masked")
    cell.get_by_role("button", name="Reveal").click()
    page.wait_for_url(f"**{reverse('studio:step_up')}?next=*")
    assert "next=" in page.url and "reveal" in page.url
    assert not AuditEvent.objects.filter(action="record.reveal").exists()

    # After step-up (a recent MFA check), the reveal shows Ada's SSN in plain text, and only that value.
    _log_in(context, person, studio_url)
    page.goto(url)
    _assert_no_plaintext(page)
    _ada_ssn_cell(page).get_by_role("button", name="Reveal").click()
    revealed = page.locator(".value-revealed")
    revealed.wait_for()
    assert revealed.inner_text() == "123-45-6789"
    assert page.locator(".value-plain").count() == 1
    assert "234-56-7890" not in page.content()
    screenshot(page, "records-revealed")
    event = AuditEvent.objects.get(action="record.reveal")
    assert event.actor_id == str(person.pk) and event.decision == "ALLOW"
    assert json.loads(event.columns) == ["ssn"]
    assert json.loads(event.details)["redaction"] == "PLAIN_TEXT"
    assert _real(console_errors) == []
    assert all(u.endswith("/favicon.ico") for u in missing), missing


def test_an_analyst_whose_policy_says_masked_never_sees_plain_text(
    page: Any, context: Any, studio_url: str, screenshot: Any, console_errors: list[str]
) -> None:
    vault = persons_vault(name="support-desk")
    person = analyst("support@example.com", vault, MASKED_POLICY)
    _log_in(context, person, studio_url)
    page.goto(reverse("studio:records"))
    page.get_by_role("link", name="persons").click()
    page.locator("table.records").wait_for()
    assert page.locator(".value-masked").count() > 0
    assert page.get_by_role("button", name="Reveal").count() == 0
    _assert_no_plaintext(page)
    screenshot(page, "records-masked-analyst")
    # Even a reveal posted by hand (the page offers none) gives the masked value, audited.
    record = vault.tables.get().records.order_by("created_at").first()
    reveal = reverse("studio:record_reveal", kwargs={"vault_id": vault.id, "table": "persons", "record_id": record.pk})
    page.goto(reveal + "?column=ssn")
    page.get_by_role("button", name="Reveal").click()
    page.locator(".value-revealed").wait_for()
    assert page.locator(".value-revealed").inner_text() == "***-**-6789"
    _assert_no_plaintext(page)
    assert AuditEvent.objects.filter(action="record.reveal").count() == 1
    assert _real(console_errors) == []


def test_no_policy_no_data(page: Any, context: Any, studio_url: str, screenshot: Any) -> None:
    from tests.studio_support import make_person

    vault = persons_vault(name="restricted")
    admin = make_person("admin@example.com", superuser=True)
    _log_in(context, admin, studio_url)
    page.goto(reverse("studio:table_records", kwargs={"vault_id": vault.id, "table": "persons"}))
    assert page.get_by_text("Your policies grant no access to this table").is_visible()
    _assert_no_plaintext(page)
    screenshot(page, "records-no-access")
