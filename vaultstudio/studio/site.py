"""The studio's AdminSite, its page decorator and its navigation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, include, path, reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_protect

from accounts.stepup import mfa_recent
from audit.services import append_deferred
from policies.models import ACCOUNT_ADMIN, AUDITOR, VAULT_OWNER
from policies.selectors import bindings_of_user, management_roles
from vaultstudio.errors import NotFound


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str] = frozenset()  # empty: every studio member


NAV: tuple[NavItem, ...] = (
    NavItem("Dashboard", "studio:dashboard"),
    NavItem("Records", "studio:records"),
    NavItem("Vaults", "studio:vaults", frozenset({VAULT_OWNER})),
    NavItem("Policies", "studio:policies", frozenset({VAULT_OWNER})),
    NavItem("Simulator", "studio:simulate", frozenset({VAULT_OWNER})),
    NavItem("Roles", "studio:roles", frozenset({ACCOUNT_ADMIN})),
    NavItem("Users", "studio:users", frozenset({ACCOUNT_ADMIN})),
    NavItem("Groups", "studio:groups", frozenset({ACCOUNT_ADMIN})),
    NavItem("Service accounts", "studio:service_accounts", frozenset({ACCOUNT_ADMIN})),
    NavItem("Audit", "studio:audit", frozenset({AUDITOR})),
)


def studio_roles(request: Any) -> set[str]:
    """The person's built-in management roles, asked once per request."""
    roles = getattr(request, "_management_roles", None)
    if roles is None:
        roles = request._management_roles = management_roles(request.user)
    return roles


def is_studio_member(request: Any) -> bool:
    """Studio members hold a built-in management role or at least one role binding (an analyst whose
    custom role carries policies). A person with neither has no business in the studio."""
    user = request.user
    if not (user.is_authenticated and user.is_active):
        return False
    return bool(studio_roles(request)) or bindings_of_user(user).exists()


def _with_next(url_name: str, request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse(url_name)}?{urlencode({'next': request.get_full_path()})}")


def posted(request: HttpRequest) -> Any:
    """The form data of a POST, None for a GET (an empty POST still binds the form)."""
    return request.POST if request.method == "POST" else None


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "studio/403.html", {"message": message}, status=403)


def studio_page(
    view: Callable[..., HttpResponse] | None = None,
    *,
    roles: Iterable[str] = (),
    step_up: bool = False,
) -> Any:
    """Wrap a studio view: logged in → MFA passed → studio member → role → (step-up). Never cached,
    CSRF-protected. ``roles``: any one of them suffices; empty means every studio member. A selector's NotFound
    becomes the studio's 404 page."""
    needed = frozenset(roles)

    def decorate(func: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(func)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                response = _with_next("studio:login", request)
            elif not user.is_verified():  # type: ignore[union-attr]  # django-otp's OTPMiddleware
                response = _with_next("studio:mfa", request)
            elif not is_studio_member(request):
                response = forbidden(request, "Your account holds no studio role. Ask an account admin for one.")
            elif needed and not (needed & studio_roles(request)):
                names = " or ".join(sorted(needed))
                response = forbidden(request, f"This page needs the {names} role.")
            elif step_up and not mfa_recent(request):
                response = _with_next("studio:step_up", request)
            else:
                try:
                    response = func(request, *args, **kwargs)
                except NotFound as exc:
                    # Selectors raise the API's NotFound; a studio page answers with its 404 page.
                    append_deferred(exc)  # a refused read's event, if it was raised in a transaction
                    raise Http404(exc.message) from exc
            add_never_cache_headers(response)
            return response

        inner.studio_roles = needed  # type: ignore[attr-defined]
        inner.studio_step_up = step_up  # type: ignore[attr-defined]
        return csrf_protect(inner)

    return decorate(view) if view is not None else decorate


class StudioSite(admin.AdminSite):
    """The studio. Not a ModelAdmin registry: every page is a purpose-built view guarded by
    ``studio_page``, so that no model is ever edited around its service (and its audit event)."""

    site_header = "VaultStudio"
    site_title = "VaultStudio"
    index_title = "Dashboard"
    final_catch_all_view = False

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_authenticated and user.is_verified() and is_studio_member(request))  # type: ignore[union-attr]

    def get_urls(self) -> list[Any]:
        return [
            path("", include("vaultstudio.studio.urls")),
            path("", include("accounts.login.urls")),
            path("", include("accounts.studio.urls")),
            path("", include("policies.studio.urls")),
            path("", include("vaults.studio.urls")),
            path("", include("audit.studio.urls")),
        ]

    @property
    def urls(self) -> tuple[list[Any], str, str]:
        return self.get_urls(), "studio", self.name


site = StudioSite(name="studio")


def nav_context(request: HttpRequest) -> dict[str, Any]:
    """Template context: the navigation the person may use (only on studio pages, once verified)."""
    if not request.path.startswith("/studio/"):
        return {}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():  # type: ignore[union-attr]
        return {}
    roles = studio_roles(request)
    items = []
    for item in NAV:
        if item.roles and not (item.roles & roles):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "label": item.label,
                "url": url,
                "active": request.path == url or (url != "/studio/" and request.path.startswith(url)),
            }
        )
    return {"studio_nav": items, "studio_roles": sorted(roles)}
