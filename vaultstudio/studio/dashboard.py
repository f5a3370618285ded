"""The studio's dashboard (``/studio/``, every studio member): sections by role.

- Vaults with their record counts (VAULT_OWNER: the vaults they own; AUDITOR: every vault), in one query.
- Alerts: service-account keys expiring within 30 days (ACCOUNT_ADMIN), vaults whose data key is due for
  rotation (VAULT_OWNER, their vaults), and a broken audit chain (every management role: it is a
  security incident whoever looks).
- Recent audit events: an AUDITOR sees the latest events of everyone; anyone else sees their own recent
  activity (the audit log is the auditors' to read, but a person may see what they did themselves).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import ServiceAccount, User
from accounts.selectors import service_account_keys_expiring
from audit.selectors import EventFilter, events_page_newest_first
from audit.studio.views import chain_status, label_vaults
from policies.models import ACCOUNT_ADMIN, AUDITOR, VAULT_OWNER
from policies.selectors import vault_owner_scope
from vaults.models import Vault
from vaults.selectors import vaults_with_counts

from .site import studio_page, studio_roles

KEY_EXPIRY_WARNING = timedelta(days=30)
ROTATION_WARNING = timedelta(days=7)
RECENT_EVENTS = 10


@dataclass(frozen=True)
class RotationAlert:
    vault: Vault
    due_at: datetime | None  # None: the vault has no active data key at all
    overdue: bool


def rotation_alerts(vaults: list[Vault], now: datetime) -> list[RotationAlert]:
    """Vaults whose active data key is past (or within a week of) its ``rotation_period_days``."""
    alerts = []
    for vault in vaults:
        if vault.active_since is None:  # type: ignore[attr-defined]
            alerts.append(RotationAlert(vault, None, True))
            continue
        due = vault.active_since + timedelta(days=vault.rotation_period_days)  # type: ignore[attr-defined]
        if due <= now + ROTATION_WARNING:
            alerts.append(RotationAlert(vault, due, due <= now))
    return sorted(alerts, key=lambda a: (a.due_at is not None, a.due_at or now))


@studio_page
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    roles = studio_roles(request)
    now = timezone.now()
    context: dict[str, Any] = {"title": "Dashboard", "now": now}

    show_vaults = bool(roles & {VAULT_OWNER, AUDITOR})
    vaults: list[Vault] = []
    if show_vaults:
        scope = None if AUDITOR in roles else vault_owner_scope(request.user)
        vaults = list(vaults_with_counts(scope))
        context["vaults"] = vaults
        context["total_records"] = sum(v.record_count for v in vaults)  # type: ignore[attr-defined]
    context["show_vaults"] = show_vaults

    if VAULT_OWNER in roles:
        owned = vaults if AUDITOR not in roles else list(vaults_with_counts(vault_owner_scope(request.user)))
        context["rotation_alerts"] = rotation_alerts(owned, now)
    if ACCOUNT_ADMIN in roles:
        context["expiring_keys"] = list(service_account_keys_expiring(KEY_EXPIRY_WARNING, now)[:20])
        context["people_active"] = User.objects.filter(is_active=True).count()
        context["service_accounts_active"] = ServiceAccount.objects.filter(is_active=True).count()
    if roles:
        chain = chain_status()
        context["chain"] = chain
        context["chain_broken"] = chain["broken"]

    context["is_auditor"] = AUDITOR in roles
    scope_filter = EventFilter() if AUDITOR in roles else EventFilter(actor=str(request.user.pk))
    events = events_page_newest_first(scope_filter, limit=RECENT_EVENTS).events
    names = {str(v.pk): v.name for v in vaults}
    label_vaults(events, names)
    context["events"] = events
    context["roles"] = roles
    return render(request, "studio/dashboard.html", context)
