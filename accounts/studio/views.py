"""Studio pages for people and groups (ACCOUNT_ADMIN): list, search, create, rename, deactivate or
reactivate a person; create, rename, delete a group and change its members.

Every view parses a form, calls one service of ``accounts.people`` and redirects with a message; a form
with bad input is shown again with its errors and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import people
from accounts.mfa.services import mfa_reset
from accounts.models import Group, User
from accounts.principals import user_actor
from accounts.selectors import (
    group_get,
    group_list_with_counts,
    mfa_device_label,
    mfa_devices_of,
    mfa_methods_by_user,
    user_get,
    user_search,
)
from policies.models import ACCOUNT_ADMIN, RoleBinding
from vaultstudio.errors import VaultError
from vaultstudio.studio.site import studio_page

from .forms import GroupForm, GroupMemberForm, UserCreateForm, UserNameForm, UserSearchForm

T = TypeVar("T")
PAGE_SIZE = 50
admin_page = studio_page(roles=[ACCOUNT_ADMIN])


def call_service(form: forms.Form, service: Callable[[], T]) -> T | None:
    """Run a service; a refusal (bad input, a conflict) becomes the form's error and None."""
    try:
        return service()
    except VaultError as exc:
        form.add_error(None, str(exc.detail))
        return None


# --- people ---------------------------------------------------------------------------------------


@admin_page
def user_list(request: HttpRequest) -> HttpResponse:
    search = UserSearchForm(request.GET or None)
    query = search.cleaned_data.get("q", "") if search.is_valid() else ""
    page = Paginator(user_search(query, active=search.active()), PAGE_SIZE).get_page(request.GET.get("page"))
    methods = mfa_methods_by_user(u.pk for u in page.object_list)
    rows = [{"user": u, "mfa": methods.get(u.pk, [])} for u in page.object_list]
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "accounts/studio/user_list.html",
        {"title": "Users", "search": search, "rows": rows, "page": page, "query_string": params.urlencode()},
    )


@studio_page(roles=[ACCOUNT_ADMIN])
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = call_service(
            form,
            lambda: people.user_create(
                actor=user_actor(request.user), email=data["email"], name=data["name"], password=data["password"]
            ),
        )
        if user is not None:
            messages.success(request, f"{user.email} was created. They enrol an MFA device at their first login.")
            return redirect("studio:user_detail", user_id=user.pk)
    return render(
        request,
        "accounts/studio/user_create.html",
        {"title": "New user", "form": form},
        status=400 if form.errors else 200,
    )


def _user_page(request: HttpRequest, user: User, name_form: UserNameForm | None = None) -> HttpResponse:
    bindings = RoleBinding.objects.filter(user=user).select_related("role").order_by("role__name")
    groups = list(user.vault_groups.order_by("name"))
    group_bindings = (
        RoleBinding.objects.filter(group__in=groups)
        .select_related("role", "group")
        .order_by("group__name", "role__name")
    )
    devices = [{"label": mfa_device_label(type(d)), "name": d.name, "device": d} for d in mfa_devices_of(user)]
    return render(
        request,
        "accounts/studio/user_detail.html",
        {
            "title": user.name or user.email,
            "person": user,
            "name_form": name_form or UserNameForm(initial={"name": user.name}),
            "bindings": bindings,
            "groups": groups,
            "group_bindings": group_bindings,
            "devices": devices,
            "is_self": user.pk == request.user.pk,
        },
        status=400 if name_form is not None and name_form.errors else 200,
    )


@studio_page(roles=[ACCOUNT_ADMIN])
@require_http_methods(["GET", "POST"])
def user_detail(request: HttpRequest, user_id: Any) -> HttpResponse:
    user = user_get(user_id)
    if request.method == "POST":
        form = UserNameForm(request.POST)
        if form.is_valid() and call_service(
            form, lambda: people.user_update(actor=user_actor(request.user), user=user, name=form.cleaned_data["name"])
        ):
            messages.success(request, "The name was saved.")
            return redirect("studio:user_detail", user_id=user.pk)
        return _user_page(request, user, form)
    return _user_page(request, user)


@admin_page
@require_POST
def user_deactivate(request: HttpRequest, user_id: Any) -> HttpResponse:
    user = user_get(user_id)
    form = forms.Form(request.POST)
    if call_service(form, lambda: people.user_deactivate(actor=user_actor(request.user), user=user)):
        messages.success(request, f"{user.email} is deactivated; their open sessions have ended.")
    else:
        messages.error(request, " ".join(form.non_field_errors()))
    return redirect("studio:user_detail", user_id=user.pk)


@admin_page
@require_POST
def user_activate(request: HttpRequest, user_id: Any) -> HttpResponse:
    user = user_get(user_id)
    people.user_activate(actor=user_actor(request.user), user=user)
    messages.success(request, f"{user.email} is active again and can log in.")
    return redirect("studio:user_detail", user_id=user.pk)


@studio_page(roles=[ACCOUNT_ADMIN], step_up=True)
@require_http_methods(["GET", "POST"])
def user_mfa_reset(request: HttpRequest, user_id: Any) -> HttpResponse:
    """POST: remove every MFA device of the person and end their sessions. A GET changes nothing:
    it is where the step-up check returns to, and it leads back to the person's page (the button)."""
    user = user_get(user_id)
    if request.method == "POST":
        form = forms.Form(request.POST)
        if call_service(form, lambda: mfa_reset(actor=user_actor(request.user), user=user)):
            messages.success(
                request,
                f"The MFA of {user.email} was reset: every device and backup code is gone and their "
                "sessions have ended. They must set up MFA again at their next sign-in.",
            )
        else:
            messages.error(request, " ".join(form.non_field_errors()))
    return redirect("studio:user_detail", user_id=user.pk)


# --- groups ---------------------------------------------------------------------------------------


@studio_page(roles=[ACCOUNT_ADMIN])
@require_http_methods(["GET", "POST"])
def group_list(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        group = call_service(
            form, lambda: people.group_create(actor=user_actor(request.user), name=form.cleaned_data["name"])
        )
        if group is not None:
            messages.success(request, f"Group {group.name} was created. Add its members below.")
            return redirect("studio:group_detail", group_id=group.pk)
    groups = group_list_with_counts().prefetch_related("role_bindings__role")
    return render(
        request,
        "accounts/studio/group_list.html",
        {"title": "Groups", "groups": groups, "form": form},
        status=400 if form.errors else 200,
    )


def _group_page(
    request: HttpRequest, group: Group, *, rename: GroupForm | None = None, add: GroupMemberForm | None = None
) -> HttpResponse:
    return render(
        request,
        "accounts/studio/group_detail.html",
        {
            "title": group.name,
            "group": group,
            "members": group.members.order_by("email"),
            "bindings": RoleBinding.objects.filter(group=group).select_related("role").order_by("role__name"),
            "rename_form": rename or GroupForm(initial={"name": group.name}),
            "member_form": add or GroupMemberForm(),
        },
        status=400 if (rename and rename.errors) or (add and add.errors) else 200,
    )


@studio_page(roles=[ACCOUNT_ADMIN])
@require_http_methods(["GET", "POST"])
def group_detail(request: HttpRequest, group_id: Any) -> HttpResponse:
    group = group_get(group_id)
    if request.method == "POST":
        form = GroupForm(request.POST)
        if form.is_valid() and call_service(
            form,
            lambda: people.group_update(actor=user_actor(request.user), group=group, name=form.cleaned_data["name"]),
        ):
            messages.success(request, "The group was renamed.")
            return redirect("studio:group_detail", group_id=group.pk)
        group.refresh_from_db()
        return _group_page(request, group, rename=form)
    return _group_page(request, group)


@admin_page
@require_POST
def group_member_add(request: HttpRequest, group_id: Any) -> HttpResponse:
    group = group_get(group_id)
    form = GroupMemberForm(request.POST)
    if not form.is_valid():
        return _group_page(request, group, add=form)
    user = form.cleaned_data["email"]
    if people.group_members_add(actor=user_actor(request.user), group=group, users=[user]):
        messages.success(request, f"{user.email} was added to {group.name}.")
    else:
        messages.info(request, f"{user.email} is already a member of {group.name}.")
    return redirect("studio:group_detail", group_id=group.pk)


@admin_page
@require_POST
def group_member_remove(request: HttpRequest, group_id: Any, user_id: Any) -> HttpResponse:
    group = group_get(group_id)
    user = user_get(user_id)
    if people.group_members_remove(actor=user_actor(request.user), group=group, users=[user]):
        messages.success(request, f"{user.email} was removed from {group.name}.")
    return redirect("studio:group_detail", group_id=group.pk)


@admin_page
@require_POST
def group_delete(request: HttpRequest, group_id: Any) -> HttpResponse:
    group = group_get(group_id)
    name = group.name
    people.group_delete(actor=user_actor(request.user), group=group)
    messages.success(request, f"Group {name} was deleted, with its role bindings.")
    return redirect("studio:groups")
