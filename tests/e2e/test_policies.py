"""The policy editor, versions and simulator in Chromium: an error shows at its line as you type; a
diff between two versions; the simulator answers; roles and their bindings."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from policies.models import Policy
from policies.services import policy_update
from tests.studio_support import browser_session_cookie, make_person
from tests.vaults.studio.support import (
    ACTOR,
    MASKED_POLICY,
    PLAIN_POLICY,
    analyst,
    persons_vault,
    policy_of,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _real(errors: list[str]) -> list[str]:
    return [e for e in errors if "404 (Not Found)" not in e]  # the browser's own /favicon.ico


def _owner(context: Any, studio_url: str, roles: tuple[str, ...] = ("VAULT_OWNER",)) -> Any:
    person = make_person("owner@example.com", roles=roles)
    context.add_cookies([browser_session_cookie(person, studio_url)])
    return person


def test_an_error_shows_at_its_line_as_you_type(
    page: Any, context: Any, studio_url: str, screenshot: Any, console_errors: list[str]
) -> None:
    vault = persons_vault(name="customers", people=[])
    _owner(context, studio_url)
    page.goto(reverse("studio:policy_create") + f"?vault={vault.id}")
    page.fill("#id_name", "analysts")
    page.locator("[data-policy-editor]:not(.no-js)").wait_for()  # the editor's script is listening
    editor = page.locator("#id_source")
    editor.click()
    page.keyboard.type("# Analysts\nALLOW READ ON persons.ssn WITH REDACTION = MASKED\n")
    page.keyboard.type("ALLOW READ ON persons.nope WHERE persons.region = 'EU'")
    error = page.locator("#policy-errors li")
    error.first.wait_for()
    assert error.count() == 1
    text = error.first.inner_text()
    assert text.startswith("line 3, column 15:") and "nope" in text
    page.locator('.code-highlight .line-error[data-line="3"]').wait_for()
    assert page.locator(".code-highlight .line-error").count() == 1
    assert page.locator(".line-error .tok-error").inner_text() == "persons.nope"  # the token at column 15
    assert page.locator(".code-gutter .gutter-error").inner_text() == "3"
    assert page.locator(".code-highlight .tok-effect-allow").count() == 2
    assert page.locator(".code-highlight .tok-string").inner_text() == "'EU'"
    assert page.locator(".code-highlight .tok-comment").inner_text() == "# Analysts"
    screenshot(page, "policy-editor-error")

    # Fix the column as you type: the error goes away; the policy saves.
    for _ in range(len("nope WHERE persons.region = 'EU'")):
        page.keyboard.press("Backspace")
    page.keyboard.type("email WHERE persons.region = 'EU'")
    page.locator("#validation-state .badge-ok").wait_for()
    assert page.locator("#policy-errors li").count() == 0
    assert page.locator(".code-highlight .line-error").count() == 0
    page.get_by_role("button", name="Save policy").click()
    page.wait_for_url("**/policies/*/")
    assert "saved as version 1" in page.locator(".messages").inner_text()
    assert Policy.objects.get(name="analysts").source.endswith("persons.email WHERE persons.region = 'EU'")
    assert _real(console_errors) == []


def test_version_diff_and_rollback(
    page: Any, context: Any, studio_url: str, screenshot: Any, console_errors: list[str]
) -> None:
    vault = persons_vault(name="customers", people=[])
    policy = policy_of(vault, "support", MASKED_POLICY)
    policy_update(actor=ACTOR, policy=policy, source=PLAIN_POLICY)
    _owner(context, studio_url)
    page.goto(reverse("studio:policy_versions", kwargs={"policy_id": policy.id}))
    assert page.locator("#policy-diff .del").all_inner_texts() == [
        "-# Support: masked values only",
        "-ALLOW READ ON persons.* WITH REDACTION = MASKED",
    ]
    assert page.locator("#policy-diff .add").first.inner_text() == "+# Analysts who may see the data itself"
    screenshot(page, "policy-version-diff")
    page.select_option("#diff-a", "0")
    page.select_option("#diff-b", "1")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**?a=0&b=1")
    assert page.locator("#policy-diff .del").count() == 0
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Roll back to v1").click()
    page.locator(".message-success").wait_for()
    policy.refresh_from_db()
    assert (policy.version, policy.source) == (3, MASKED_POLICY)
    assert AuditEvent.objects.filter(action="policy.rollback").count() == 1
    assert _real(console_errors) == []


def test_the_simulator_answers(
    page: Any, context: Any, studio_url: str, screenshot: Any, console_errors: list[str]
) -> None:
    vault = persons_vault(name="customers", people=[])
    subject = analyst(
        "analyst@example.com",
        vault,
        "ALLOW READ ON persons.name, persons.region WITH REDACTION = PLAIN_TEXT WHERE persons.region = 'EU'\n"
        "ALLOW READ ON persons.ssn WITH REDACTION = MASKED\n"
        "DENY READ ON persons.ssn WHERE persons.vip = TRUE\n",
    )
    _owner(context, studio_url)
    page.goto(reverse("studio:simulate"))
    page.select_option("#id_principal", f"user:{subject.pk}")
    page.select_option("#id_target", f"{vault.id}:persons")
    page.select_option("#id_action", "READ")
    page.select_option("#id_redaction", "PLAIN_TEXT")
    page.get_by_role("button", name="Simulate").click()
    answer = page.locator("#simulation")
    answer.wait_for()
    ssn = answer.locator("tr", has=page.locator("td strong", has_text=re.compile("^ssn$")))
    assert "MASKED" in ssn.inner_text()
    assert "NOT persons.vip = TRUE" in ssn.inner_text()
    assert "DENY READ ON persons.ssn WHERE persons.vip = TRUE" in ssn.inner_text()
    name = answer.locator("tr", has=page.locator("td strong", has_text=re.compile("^name$")))
    assert "PLAIN_TEXT" in name.inner_text() and "persons.region = 'EU'" in name.inner_text()
    screenshot(page, "simulator")
    assert _real(console_errors) == []


def test_roles_and_bindings(
    page: Any, context: Any, studio_url: str, screenshot: Any, console_errors: list[str]
) -> None:
    vault = persons_vault(name="customers", people=[])
    policy_of(vault, "support", MASKED_POLICY)
    make_person("analyst@example.com", mfa=None)
    _owner(context, studio_url, roles=("ACCOUNT_ADMIN",))
    page.goto(reverse("studio:roles"))
    page.get_by_role("link", name="New role").click()
    page.fill("#id_name", "support-agents")
    page.fill("#id_description", "Read customers, masked")
    page.get_by_label("customers / support").check()
    page.get_by_role("button", name="Create role").click()
    page.wait_for_url("**/roles/*/")
    page.select_option("#id_subject", label="analyst@example.com")
    page.get_by_role("button", name="Bind").click()
    page.locator(".message-success").wait_for()
    assert "analyst@example.com" in page.locator("table.data").inner_text()
    screenshot(page, "role-detail")
    page.goto(reverse("studio:roles"))
    screenshot(page, "roles")
    assert AuditEvent.objects.filter(action__in=["role.create", "role.binding.create"]).count() == 2
    assert _real(console_errors) == []


def test_a_saved_policy_is_checked_when_the_editor_opens(
    page: Any, context: Any, studio_url: str, console_errors: list[str]
) -> None:
    from vaults.schema import parse_schema
    from vaults.selectors import vault_schema
    from vaults.services import vault_schema_update

    vault = persons_vault(name="customers", people=[])
    policy = policy_of(vault, "regions", "# by region\nALLOW READ ON persons.region")
    document = vault_schema(vault).as_document()
    document["tables"][0]["columns"] = [c for c in document["tables"][0]["columns"] if c["name"] != "region"]
    vault_schema_update(actor=ACTOR, vault=vault, schema=parse_schema(document))  # the policy still names it
    _owner(context, studio_url)
    page.goto(reverse("studio:policy_edit", kwargs={"policy_id": policy.id}))
    error = page.locator("#policy-errors li")
    error.first.wait_for()
    assert error.first.inner_text().startswith("line 2, column 15:") and "region" in error.first.inner_text()
    page.locator('.code-highlight .line-error[data-line="2"]').wait_for()
    assert _real(console_errors) == []
