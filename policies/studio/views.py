"""The studio's policy pages: the list, the editor (highlighting and validation as you type), version
history with a diff between any two versions, and rollback.

VAULT_OWNER only, narrowed to the vaults the person owns (another vault's policy is a 404). Opening
the editor, saving, rolling back and deleting need a recent MFA check (step-up); reading the list
and the versions does not. Every write is one call of ``policies.services``, which compiles the text
against the vault's schema, keeps the version, audits and bumps the policy version key.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from accounts.principals import actor_of
from policies.api.policy_views import unified_diff
from policies.models import VAULT_OWNER, Policy, PolicyVersion
from policies.selectors import vault_owner_scope
from policies.services import policy_create, policy_delete, policy_rollback, policy_update, policy_validate
from vaults.models import Vault
from vaults.selectors import vault_list
from vaultstudio.errors import VaultError
from vaultstudio.inputs import parse_uuid
from vaultstudio.studio.site import posted, studio_page

from .forms import PolicyDiffForm, PolicyForm, RollbackForm


def owned_vaults(request: HttpRequest) -> QuerySet[Vault]:
    scope = vault_owner_scope(request.user)
    vaults = vault_list()
    return vaults if scope is None else vaults.filter(pk__in=list(scope))


def owned_policy(request: HttpRequest, policy_id: Any) -> Policy:
    policy = (
        Policy.objects.filter(vault__in=owned_vaults(request), pk=parse_uuid(policy_id)).select_related("vault").first()
    )
    if policy is None:
        raise Http404(f"No policy with id {policy_id}.")
    return policy


def _attach_service_error(form: PolicyForm, exc: VaultError) -> list[dict[str, Any]]:
    """A refused save on the form: compile errors on the text (each with its line and column), a
    name clash on the name, anything else on the form. Returns the located errors for the editor."""
    located = [d for d in exc.details if "line" in d]
    if located:
        for d in located:
            form.add_error("source", f"line {d['line']}, column {d['column']}: {d['message']}")
    elif "name" in exc.message:
        form.add_error("name", exc.message)
    else:
        form.add_error(None, exc.message)
    return located


@studio_page(roles=[VAULT_OWNER])
def policy_list_page(request: HttpRequest) -> HttpResponse:
    vaults = owned_vaults(request)
    policies = (
        Policy.objects.filter(vault__in=vaults).select_related("vault").annotate(role_count=Count("roles"))
    ).order_by("vault__name", "name")
    chosen = None
    wanted = request.GET.get("vault")
    if wanted:
        chosen = vaults.filter(pk=parse_uuid(wanted)).first()
        if chosen is None:
            raise Http404("No such vault.")
        policies = policies.filter(vault=chosen)
    return render(
        request,
        "policies/policy_list.html",
        {"title": "Policies", "policies": list(policies), "vaults": list(vaults), "chosen": chosen},
    )


def _editor(
    request: HttpRequest, form: PolicyForm, policy: Policy | None, errors: list[dict[str, Any]]
) -> HttpResponse:
    title = f"Edit policy {policy.name}" if policy else "New policy"
    return render(
        request,
        "policies/policy_form.html",
        {"title": title, "form": form, "policy": policy, "errors": errors},
    )


@studio_page(roles=[VAULT_OWNER], step_up=True)
def policy_create_page(request: HttpRequest) -> HttpResponse:
    vaults = owned_vaults(request)
    initial = {"vault": vaults.filter(pk=parse_uuid(request.GET.get("vault"))).first()}
    form = PolicyForm(posted(request), vaults=vaults, initial=initial)
    errors: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        try:
            policy = policy_create(
                actor=actor_of(request.user),
                vault=form.cleaned_data["vault"],
                **form.policy_fields(),
            )
        except VaultError as exc:
            errors = _attach_service_error(form, exc)
        else:
            messages.success(request, f"Policy {policy.name} saved as version 1.")
            return redirect("studio:policy_edit", policy_id=policy.id)
    return _editor(request, form, None, errors)


@studio_page(roles=[VAULT_OWNER], step_up=True)
def policy_edit_page(request: HttpRequest, policy_id: Any) -> HttpResponse:
    policy = owned_policy(request, policy_id)
    initial = {"vault": policy.vault, "name": policy.name, "status": policy.status, "source": policy.source}
    form = PolicyForm(posted(request), vaults=owned_vaults(request), editing=True, initial=initial)
    errors: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        try:
            saved = policy_update(
                actor=actor_of(request.user),
                policy=policy,
                **form.policy_fields(),
            )
        except VaultError as exc:
            errors = _attach_service_error(form, exc)
        else:
            if saved.version == policy.version:
                messages.info(request, "Nothing changed; no new version.")
            else:
                messages.success(request, f"Policy {saved.name} saved as version {saved.version}.")
            return redirect("studio:policy_edit", policy_id=saved.id)
    return _editor(request, form, policy, errors)


@studio_page(roles=[VAULT_OWNER])
def policy_validate_endpoint(request: HttpRequest) -> HttpResponse:
    """POST ``{"vault": id, "source": text}`` → ``{"valid": bool, "errors": [{line, column, message}]}``:
    the compiler's errors as the editor marks them while the person types. Writes nothing."""
    if request.method != "POST":
        return JsonResponse({"error": "POST the vault and the policy text."}, status=405)
    try:
        body = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("source"), str):
        return JsonResponse({"error": 'Send {"vault": id, "source": text}.'}, status=400)
    vault = owned_vaults(request).filter(pk=parse_uuid(body.get("vault"))).first()
    if vault is None:
        return JsonResponse({"error": "No such vault."}, status=404)
    errors = policy_validate(vault=vault, source=body["source"])
    return JsonResponse({"valid": not errors, "errors": errors})


def diff_lines(text: str) -> list[tuple[str, str]]:
    """A unified diff as (class, line) pairs for the .diff styles."""
    out = []
    for line in text.splitlines():
        if line.startswith(("---", "+++")):
            continue
        kind = "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx"
        out.append((kind, line))
    return out


@studio_page(roles=[VAULT_OWNER])
def policy_versions_page(request: HttpRequest, policy_id: Any) -> HttpResponse:
    policy = owned_policy(request, policy_id)
    versions = list(PolicyVersion.objects.filter(policy=policy).order_by("-version"))
    by_number = {v.version: v for v in versions}
    defaults = {"b": policy.version, "a": max(policy.version - 1, 0)}
    form = PolicyDiffForm(request.GET if "a" in request.GET else defaults)
    diff: list[tuple[str, str]] | None = None
    if form.is_valid():
        a, b = form.cleaned_data["a"], form.cleaned_data["b"]
        if b not in by_number or (a != 0 and a not in by_number):
            form.add_error(None, f"Policy {policy.name} has versions 1 to {policy.version} (0 is the empty text).")
        else:
            diff = diff_lines(unified_diff(policy.name, by_number.get(a), by_number[b]))
    return render(
        request,
        "policies/policy_versions.html",
        {"title": f"{policy.name}: versions", "policy": policy, "versions": versions, "form": form, "diff": diff},
    )


@studio_page(roles=[VAULT_OWNER], step_up=True)
def policy_rollback_page(request: HttpRequest, policy_id: Any) -> HttpResponse:
    policy = owned_policy(request, policy_id)
    if request.method != "POST":
        return redirect("studio:policy_versions", policy_id=policy.id)
    form = RollbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a version to roll back to.")
        return redirect("studio:policy_versions", policy_id=policy.id)
    version = form.cleaned_data["version"]
    try:
        saved = policy_rollback(actor=actor_of(request.user), policy=policy, version=version)
    except VaultError as exc:
        messages.error(request, exc.message)
        return redirect("studio:policy_versions", policy_id=policy.id)
    if saved.version == policy.version:
        messages.info(request, f"Version {version} says what the policy says now; nothing changed.")
    else:
        messages.success(request, f"Rolled back to the text of version {version}, saved as version {saved.version}.")
    return redirect("studio:policy_versions", policy_id=policy.id)


@studio_page(roles=[VAULT_OWNER], step_up=True)
def policy_delete_page(request: HttpRequest, policy_id: Any) -> HttpResponse:
    policy = owned_policy(request, policy_id)
    if request.method == "POST":
        policy_delete(actor=actor_of(request.user), policy=policy)
        messages.success(request, f"Policy {policy.name} deleted; the roles that carried it no longer grant it.")
        return redirect("studio:policies")
    return render(request, "policies/policy_delete.html", {"title": f"Delete policy {policy.name}", "policy": policy})
