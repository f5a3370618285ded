"""The vault pages in Chromium: the list with record counts, a vault's schema, and the column editor
with every option — a bad option shows its error on the field."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.studio_support import browser_session_cookie, make_person
from tests.vaults.studio.support import persons_vault
from vaults.models import Column

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _real(errors: list[str]) -> list[str]:
    return [e for e in errors if "404 (Not Found)" not in e]  # the browser's own /favicon.ico


def test_vaults_and_the_schema_editor(
    page: Any, context: Any, studio_url: str, screenshot: Any, console_errors: list[str]
) -> None:
    vault = persons_vault(name="customers")
    persons_vault(name="payments", people=[])
    owner = make_person("owner@example.com", roles=("VAULT_OWNER",))
    context.add_cookies([browser_session_cookie(owner, studio_url)])

    page.goto(reverse("studio:vaults"))
    row = page.locator("tr", has=page.get_by_role("link", name="customers"))
    assert row.locator("td").nth(3).inner_text() == "3"
    screenshot(page, "vaults-list")

    page.get_by_role("link", name="customers").click()
    page.locator("#table-persons").wait_for()
    screenshot(page, "vault-schema")

    page.get_by_role("link", name="Add column").click()
    page.fill("#id_name", "passport")
    page.select_option("#id_tokenization", "TRANSIENT")
    assert page.locator('[data-field="token_ttl_minutes"]').is_visible()
    page.check('input[name="masking_kind"][value="regex"]')
    assert not page.locator('[data-field="masking_preset"]').is_visible()
    page.fill("#id_masking_find", "^(..).*(..)$")
    page.fill("#id_masking_replace", "${1}****${2}")
    page.get_by_role("button", name="Add column").click()
    # TRANSIENT needs a lifetime: the error is on that field, nothing is written.
    error = page.locator('[data-field="token_ttl_minutes"] .error')
    error.wait_for()
    assert "TRANSIENT" in error.inner_text()
    assert not Column.objects.filter(name="passport").exists()
    screenshot(page, "schema-editor-error")

    page.fill("#id_token_ttl_minutes", "60")
    page.select_option("#id_default_redaction", "MASKED")
    screenshot(page, "schema-editor")
    page.get_by_role("button", name="Add column").click()
    page.wait_for_url(f"**{reverse('studio:vault_detail', kwargs={'vault_id': vault.id})}")
    assert "Schema saved" in page.locator(".messages").inner_text()
    column = Column.objects.get(table__vault=vault, name="passport")
    assert (column.tokenization, column.token_ttl_minutes) == ("TRANSIENT", 60)
    assert column.masking == {"find": "^(..).*(..)$", "replace": "${1}****${2}"}
    assert _real(console_errors) == []
