"""The simulator page: "as this user or service account, action X on table T → per column the level,
the row condition and the deciding statements". It asks ``policies.pdp.decide_for`` — the function
``POST /api/v1/simulate`` and the data plane use — so it answers exactly what would be enforced."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import ServiceAccount
from accounts.principals import ServiceAccountPrincipal
from policies.engine import Decision
from policies.models import VAULT_OWNER, Policy
from policies.pdp import decide_for
from vaultstudio.studio.site import studio_page

from .explain import condition_text
from .forms import SimulateForm
from .views import owned_vaults


def _caller(principal: Any) -> Any:
    if isinstance(principal, ServiceAccount):
        # As the API's simulator does: a full (un-narrowed) token of the account; no key decides anything.
        return ServiceAccountPrincipal(service_account=principal, key=None, claims={})  # type: ignore[arg-type]
    return principal


def _explained(decision: Decision) -> dict[str, Any]:
    """The decision as the page shows it: per column the levels with their row conditions, the
    column's own condition, and each deciding statement with its policy and its text."""
    policy_ids = {ref.policy_id for ref in decision.statements}
    policies = {str(p.pk): p for p in Policy.objects.filter(pk__in=policy_ids)}

    def statement(ref: Any) -> dict[str, Any]:
        policy = policies.get(ref.policy_id)
        lines = policy.source.splitlines() if policy else []
        text = lines[ref.line - 1].strip() if 0 < ref.line <= len(lines) else ""
        return {"policy": policy, "line": ref.line, "effect": ref.effect, "text": text}

    columns = [
        {
            "name": name,
            "condition": condition_text(column.condition),
            "levels": [{"level": g.level, "condition": condition_text(g.condition)} for g in column.levels],
            "statements": [statement(ref) for ref in column.statements],
        }
        for name, column in decision.columns.items()
    ]
    return {
        "allowed": decision.allowed,
        "row_filter": condition_text(decision.row_filter),
        "columns": columns,
        "denied_columns": list(decision.denied_columns),
        "unknown_columns": list(decision.unknown_columns),
        "statements": [statement(ref) for ref in decision.statements],
    }


@studio_page(roles=[VAULT_OWNER])
def simulate_page(request: HttpRequest) -> HttpResponse:
    """A GET form (a question changes nothing, and its answer can be linked)."""
    vaults = owned_vaults(request)
    asked = "principal" in request.GET
    form = SimulateForm(request.GET if asked else None, vaults=vaults)
    answer = None
    if asked and form.is_valid():
        vault_id, table = form.cleaned_data["target"]
        vault = vaults.get(pk=vault_id)
        redaction = form.cleaned_data["redaction"]
        decision = decide_for(
            _caller(form.cleaned_data["principal"]),
            vault,
            form.cleaned_data["action"],
            table,
            form.cleaned_data["columns"],
            None if redaction == "DEFAULT" else redaction,
            form.cleaned_data["context"],
        )
        answer = {"vault": vault, "table": table, "action": form.cleaned_data["action"], **_explained(decision)}
    return render(request, "policies/simulate.html", {"title": "Simulator", "form": form, "answer": answer})
