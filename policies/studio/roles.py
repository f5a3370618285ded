"""The studio's role pages: built-in and custom roles, the policies a custom role carries, and its
bindings to people, groups and service accounts (optional expiry; optional vault for VAULT_OWNER).
ACCOUNT_ADMIN only. Every change is one call of ``policies.services`` (audited, version bumped)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.principals import actor_of
from policies.models import ACCOUNT_ADMIN, VAULT_OWNER, Role
from policies.selectors import role_binding_get, role_bindings, role_get, roles_list
from policies.services import binding_create, binding_delete, role_create, role_delete, role_update
from vaults.models import Vault
from vaultstudio.errors import VaultError
from vaultstudio.studio.site import posted, studio_page

from .forms import BindingForm, RoleForm


def _service_error(form: Any, exc: VaultError) -> None:
    form.add_error("name" if "named" in exc.message or exc.message.startswith("name") else None, exc.message)


@studio_page(roles=[ACCOUNT_ADMIN])
def role_list_page(request: HttpRequest) -> HttpResponse:
    roles = roles_list().annotate(
        policy_count=Count("policies", distinct=True), binding_count=Count("bindings", distinct=True)
    )
    builtin = [r for r in roles if r.builtin]
    custom = [r for r in roles if not r.builtin]
    return render(request, "policies/role_list.html", {"title": "Roles", "builtin": builtin, "custom": custom})


@studio_page(roles=[ACCOUNT_ADMIN])
def role_create_page(request: HttpRequest) -> HttpResponse:
    form = RoleForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            role = role_create(
                actor=actor_of(request.user),
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                policies=list(form.cleaned_data["policies"]),
            )
        except VaultError as exc:
            _service_error(form, exc)
        else:
            messages.success(request, f"Role {role.name} created. Bind it to people or service accounts below.")
            return redirect("studio:role_detail", role_id=role.id)
    return render(request, "policies/role_form.html", {"title": "New role", "form": form})


@studio_page(roles=[ACCOUNT_ADMIN])
def role_detail_page(request: HttpRequest, role_id: Any) -> HttpResponse:
    """The role, its policies (editable for a custom role) and its bindings."""
    role = role_get(str(role_id))
    initial = {"name": role.name, "description": role.description, "policies": list(role.policies.all())}
    form = RoleForm(posted(request), initial=initial, builtin=role.builtin)
    if request.method == "POST" and form.is_valid():
        try:
            role_update(
                actor=actor_of(request.user),
                role=role,
                name=None if role.builtin else form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                policies=None if role.builtin else list(form.cleaned_data["policies"]),
            )
        except VaultError as exc:
            _service_error(form, exc)
        else:
            messages.success(request, f"Role {role.name} saved.")
            return redirect("studio:role_detail", role_id=role.id)
    return _detail(request, role, form, BindingForm(scoped=role.name == VAULT_OWNER and role.builtin))


def _detail(request: HttpRequest, role: Role, form: RoleForm, binding_form: BindingForm) -> HttpResponse:
    bindings = list(role_bindings(role))
    vault_names = {str(v.pk): v.name for v in Vault.objects.filter(pk__in=[b.vault_id for b in bindings if b.vault_id])}
    for binding in bindings:
        binding.vault_name = vault_names.get(str(binding.vault_id), str(binding.vault_id)) if binding.vault_id else None
    return render(
        request,
        "policies/role_detail.html",
        {
            "title": f"Role {role.name}",
            "role": role,
            "form": form,
            "binding_form": binding_form,
            "bindings": bindings,
            "policies": role.policies.select_related("vault").order_by("vault__name", "name"),
        },
    )


@studio_page(roles=[ACCOUNT_ADMIN])
def role_delete_page(request: HttpRequest, role_id: Any) -> HttpResponse:
    role = role_get(str(role_id))
    if role.builtin:
        messages.error(request, f"{role.name} is a built-in role; it cannot be deleted.")
        return redirect("studio:role_detail", role_id=role.id)
    if request.method == "POST":
        role_delete(actor=actor_of(request.user), role=role)
        messages.success(request, f"Role {role.name} deleted with its bindings.")
        return redirect("studio:roles")
    return render(
        request,
        "policies/role_delete.html",
        {"title": f"Delete role {role.name}", "role": role, "binding_count": role.bindings.count()},
    )


@studio_page(roles=[ACCOUNT_ADMIN])
def binding_create_page(request: HttpRequest, role_id: Any) -> HttpResponse:
    role = role_get(str(role_id))
    if request.method != "POST":
        return redirect("studio:role_detail", role_id=role.id)
    binding_form = BindingForm(request.POST, scoped=role.name == VAULT_OWNER and role.builtin)
    if binding_form.is_valid():
        vault = binding_form.cleaned_data.get("vault")
        try:
            binding_create(
                actor=actor_of(request.user),
                role=role,
                vault_id=str(vault.pk) if vault else None,
                expires_at=binding_form.cleaned_data["expires_at"],
                **binding_form.cleaned_data["subject"],
            )
        except VaultError as exc:
            field = "expires_at" if "expires_at" in exc.message else None
            binding_form.add_error(field, exc.message)
        else:
            messages.success(request, f"Role {role.name} bound.")
            return redirect("studio:role_detail", role_id=role.id)
    initial = {"name": role.name, "description": role.description, "policies": list(role.policies.all())}
    return _detail(request, role, RoleForm(initial=initial, builtin=role.builtin), binding_form)


@studio_page(roles=[ACCOUNT_ADMIN])
def binding_delete_page(request: HttpRequest, role_id: Any, binding_id: Any) -> HttpResponse:
    role = role_get(str(role_id))
    binding = role_binding_get(role, str(binding_id))
    if request.method == "POST":
        kind, who = binding.subject
        binding_delete(actor=actor_of(request.user), binding=binding)
        messages.success(request, f"Binding of {role.name} to {who} removed.")
    return redirect("studio:role_detail", role_id=role.id)
