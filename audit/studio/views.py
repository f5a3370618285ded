"""The audit viewer (AUDITOR): filtered, cursor-paged events newest first, one event's detail, the
chain status with "verify now", and the NDJSON export (the API's own export path)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.principals import user_actor
from audit.api.views import ndjson_export_response
from audit.models import AuditEvent
from audit.selectors import chain_alert, event_actions, events_page_newest_first, last_chain_check
from audit.services import audit_chain_verify
from policies.models import AUDITOR
from vaults.models import Vault
from vaultstudio.studio.site import studio_page

from .forms import EventFilterForm

PAGE_SIZE = 50


def chain_status() -> dict[str, Any]:
    """What the studio says about the chain: the standing alert, else the last check's result."""
    check = last_chain_check()
    alert = chain_alert()
    details = json.loads(check.details) if check is not None else {}
    broken = alert is not None or (
        check is not None and (check.action == "audit.chain.broken" or not details.get("valid", True))
    )
    return {"check": check, "details": alert or details, "broken": broken}


def label_vaults(events: list[AuditEvent], names: dict[str, str]) -> None:
    """Give each event its vault's name (``vault_name``) for the event tables, from one name map."""
    for event in events:
        event.vault_name = names.get(event.vault_id)  # type: ignore[attr-defined]


def _vault_choices() -> list[tuple[str, str]]:
    return [(str(pk), name) for pk, name in Vault.objects.order_by("name").values_list("pk", "name")]


def _cursor(value: str | None) -> int | None:
    try:
        cursor = int(value or "")
    except ValueError:
        return None
    return cursor if cursor > 0 else None


@studio_page(roles=[AUDITOR])
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    vaults = _vault_choices()
    form = EventFilterForm(request.GET or None, vaults=vaults)
    page = events_page_newest_first(form.event_filter(), before=_cursor(request.GET.get("before")), limit=PAGE_SIZE)
    label_vaults(page.events, dict(vaults))
    params = request.GET.copy()
    params.pop("before", None)
    return render(
        request,
        "audit/event_list.html",
        {
            "title": "Audit log",
            "form": form,
            "events": page.events,
            "next_cursor": page.next_cursor,
            "paged": "before" in request.GET,
            "query_string": params.urlencode(),
            "actions": event_actions(),
            "chain": chain_status(),
        },
        status=400 if form.errors else 200,
    )


@studio_page(roles=[AUDITOR])
@require_GET
def audit_event(request: HttpRequest, seq: int) -> HttpResponse:
    event = AuditEvent.objects.filter(seq=seq).first()
    if event is None:
        raise Http404(f"No audit event #{seq}.")
    data = event.as_dict()
    vault_name = (
        Vault.objects.filter(pk=event.vault_id).values_list("name", flat=True).first() if event.vault_id else None
    )
    return render(
        request,
        "audit/event_detail.html",
        {
            "title": f"Event #{event.seq}",
            "event": event,
            "data": data,
            "vault_name": vault_name,
            "has_next": AuditEvent.objects.filter(seq=event.seq + 1).exists(),
            "details_json": json.dumps(data["details"], indent=2, ensure_ascii=False),
            "raw_json": json.dumps(data, indent=2, ensure_ascii=False),
        },
    )


@studio_page(roles=[AUDITOR])
@require_POST
def audit_verify(request: HttpRequest) -> HttpResponse:
    result = audit_chain_verify(actor=user_actor(request.user))
    if result.valid:
        messages.success(request, f"The audit chain verifies: {result.checked} events checked, no break.")
    else:
        messages.error(
            request,
            f"The audit chain is BROKEN at event #{result.first_bad_seq}: {result.reason}. Admins were alerted.",
        )
    return redirect("studio:audit")


@studio_page(roles=[AUDITOR])
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET or None, vaults=_vault_choices())
    if request.GET and not form.is_valid():
        messages.error(request, "Fix the filters before exporting.")
        return redirect(f"{reverse('studio:audit')}?{request.GET.urlencode()}")
    return ndjson_export_response(actor=user_actor(request.user), filters=form.event_filter())
