"""End to end: the dashboard shows the vaults with their record counts, alerts and recent events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts import services
from policies.models import ACCOUNT_ADMIN, AUDITOR, VAULT_OWNER
from tests.studio_support import browser_session_cookie, make_person
from vaults.models import DataKey, Record, Table
from vaults.schema import parse_schema
from vaults.services import vault_create

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {
    "tables": [
        {"name": "persons", "columns": [{"name": "name", "data_type": "string"}]},
        {"name": "cards", "columns": [{"name": "pan", "data_type": "string"}]},
    ]
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_dashboard_shows_vaults_with_counts_alerts_and_recent_events(
    context: Any, page: Any, studio_url: str, actor: Any, screenshot: Any, console_errors: list[str]
) -> None:
    counts = {"customers": {"persons": 12, "cards": 5}, "employees": {"persons": 3}, "empty": {}}
    for name, tables in counts.items():
        vault = vault_create(actor=actor, name=name, description=f"The {name} vault", schema=parse_schema(SCHEMA))
        for table_name, n in tables.items():
            table = Table.objects.get(vault=vault, name=table_name)
            Record.objects.bulk_create([Record(table=table, data={}) for _ in range(n)])  # counts only
        if name == "employees":
            DataKey.objects.filter(vault=vault).update(created_at=timezone.now() - timedelta(days=120))
    account = services.service_account_create(actor=actor, name="billing-app")
    services.service_account_key_generate(actor=actor, account=account, expires_at=timezone.now() + timedelta(days=9))
    admin = make_person("admin@example.com", roles=(ACCOUNT_ADMIN, VAULT_OWNER, AUDITOR), name="Ada Admin")
    context.add_cookies([browser_session_cookie(admin, studio_url)])

    page.goto("/studio/")
    rows = {
        row.locator("td").first.locator("strong").inner_text(): row.locator("td.record-count").inner_text()
        for row in page.locator("#vaults tbody tr").all()
    }
    assert rows == {"customers": "17", "employees": "3", "empty": "0"}
    assert page.locator("#stat-records").inner_text() == "20"
    alerts = page.locator("#alerts").inner_text()
    assert "employees" in alerts and "was due for rotation" in alerts
    assert "billing-app" in alerts and "expires on" in alerts
    events = page.locator("#recent-events").inner_text()
    assert "vault.create" in events and "service_account.key.generate" in events
    screenshot(page, "dashboard")
    assert not [e for e in console_errors if "Content Security Policy" in e or "Refused" in e], console_errors
