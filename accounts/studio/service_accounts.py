"""Studio pages for service accounts (ACCOUNT_ADMIN): list, create, edit (IP allowlist, token lifetime),
deactivate; keys: generate (step-up; credentials.json offered once), upload a public key (step-up),
revoke.

The generated private key is never stored: the POST that generates it answers with the page that
offers ``credentials.json`` as a ``data:`` link, and nothing on the server keeps a copy. A one-time
form nonce (kept in the session) refuses a re-submitted form, so reloading that page cannot mint a
second key or show the credentials again.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.models import ServiceAccount
from accounts.principals import user_actor
from accounts.selectors import (
    service_account_get,
    service_account_key_get,
    service_account_keys,
    service_account_list_with_keys,
)
from policies.models import ACCOUNT_ADMIN
from policies.selectors import bindings_of_service_account
from vaultstudio.studio.site import studio_page

from .forms import KeyGenerateForm, KeyUploadForm, ServiceAccountForm
from .views import call_service

NONCES_SESSION_KEY = "vs_sa_keygen_nonces"
EXPIRING_SOON = timedelta(days=30)
JUST_NOW = timedelta(minutes=1)
admin_page = studio_page(roles=[ACCOUNT_ADMIN])


@studio_page(roles=[ACCOUNT_ADMIN])
@require_http_methods(["GET"])
def service_account_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return render(
        request,
        "accounts/studio/service_account_list.html",
        {
            "title": "Service accounts",
            "accounts": service_account_list_with_keys(now),
            "soon": now + EXPIRING_SOON,
            "recent": now - JUST_NOW,
        },
    )


@studio_page(roles=[ACCOUNT_ADMIN])
@require_http_methods(["GET", "POST"])
def service_account_create(request: HttpRequest) -> HttpResponse:
    form = ServiceAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = call_service(
            form, lambda: services.service_account_create(actor=user_actor(request.user), **form.service_fields())
        )
        if account is not None:
            messages.success(request, f"Service account {account.name} was created. Generate or upload a key for it.")
            return redirect("studio:service_account_detail", account_id=account.pk)
    return render(
        request,
        "accounts/studio/service_account_create.html",
        {"title": "New service account", "form": form},
        status=400 if form.errors else 200,
    )


def _account_page(
    request: HttpRequest, account: ServiceAccount, form: ServiceAccountForm | None = None
) -> HttpResponse:
    now = timezone.now()
    return render(
        request,
        "accounts/studio/service_account_detail.html",
        {
            "title": account.name,
            "account": account,
            "form": form or ServiceAccountForm(initial=ServiceAccountForm.initial_for(account)),
            "keys": service_account_keys(account).order_by("-created_at"),
            "bindings": bindings_of_service_account(account).order_by("role__name"),
            "now": now,
            "soon": now + EXPIRING_SOON,
            "recent": now - JUST_NOW,
        },
        status=400 if form is not None and form.errors else 200,
    )


@studio_page(roles=[ACCOUNT_ADMIN])
@require_http_methods(["GET", "POST"])
def service_account_detail(request: HttpRequest, account_id: Any) -> HttpResponse:
    account = service_account_get(account_id)
    if request.method == "POST":
        form = ServiceAccountForm(request.POST)
        if form.is_valid() and call_service(
            form,
            lambda: services.service_account_update(
                actor=user_actor(request.user), account=account, **form.service_fields()
            ),
        ):
            messages.success(request, "The service account was saved.")
            return redirect("studio:service_account_detail", account_id=account.pk)
        account.refresh_from_db()
        return _account_page(request, account, form)
    return _account_page(request, account)


@admin_page
@require_POST
def service_account_set_active(request: HttpRequest, account_id: Any, active: bool) -> HttpResponse:
    account = service_account_get(account_id)
    services.service_account_update(actor=user_actor(request.user), account=account, is_active=active)
    if active:
        messages.success(request, f"{account.name} is active again.")
    else:
        messages.success(request, f"{account.name} is deactivated: its tokens stop working on their next request.")
    return redirect("studio:service_account_detail", account_id=account.pk)


# --- keys -----------------------------------------------------------------------------------------


def _new_nonce(request: HttpRequest) -> str:
    nonce = secrets.token_urlsafe(24)
    kept = request.session.get(NONCES_SESSION_KEY, [])[-9:]
    request.session[NONCES_SESSION_KEY] = [*kept, nonce]
    return nonce


def _take_nonce(request: HttpRequest, nonce: str) -> bool:
    kept = request.session.get(NONCES_SESSION_KEY, [])
    if nonce not in kept:
        return False
    kept.remove(nonce)
    request.session[NONCES_SESSION_KEY] = kept
    return True


def _valid_until(days: int) -> Any:
    return timezone.now() + timedelta(days=days)


@studio_page(roles=[ACCOUNT_ADMIN], step_up=True)
@require_http_methods(["GET", "POST"])
def key_generate(request: HttpRequest, account_id: Any) -> HttpResponse:
    account = service_account_get(account_id)
    if request.method == "GET":
        form = KeyGenerateForm(initial={"nonce": _new_nonce(request)})
        return _key_form(request, account, form)
    form = KeyGenerateForm(request.POST)
    if not form.is_valid():
        return _key_form(request, account, form, status=400)
    if not _take_nonce(request, form.cleaned_data["nonce"]):
        messages.warning(
            request,
            "This key form was already used: its credentials were offered once and are not kept. "
            "If you did not save them, revoke that key and generate a new one.",
        )
        return redirect("studio:service_account_detail", account_id=account.pk)
    result = call_service(
        form,
        lambda: services.service_account_key_generate(
            actor=user_actor(request.user),
            account=account,
            algorithm=form.cleaned_data["algorithm"],
            expires_at=_valid_until(form.cleaned_data["valid_days"]),
        ),
    )
    if result is None:  # refused (e.g. two usable keys already): the same form again, with a fresh nonce
        retry = KeyGenerateForm({**request.POST.dict(), "nonce": _new_nonce(request)})
        retry.is_valid()
        for error in form.non_field_errors():
            retry.add_error(None, error)
        return _key_form(request, account, retry, status=409)
    key, credentials = result
    document = json.dumps(credentials, indent=2).encode()
    return render(
        request,
        "accounts/studio/key_generated.html",
        {
            "title": "Key generated",
            "account": account,
            "key": key,
            "download_href": "data:application/json;base64," + base64.b64encode(document).decode(),
        },
    )


def _key_form(
    request: HttpRequest,
    account: ServiceAccount,
    form: forms.Form,
    *,
    status: int = 200,
    upload: bool = False,
) -> HttpResponse:
    return render(
        request,
        "accounts/studio/key_form.html",
        {
            "title": "Upload a public key" if upload else "Generate a key",
            "account": account,
            "form": form,
            "upload": upload,
        },
        status=status,
    )


@studio_page(roles=[ACCOUNT_ADMIN], step_up=True)
@require_http_methods(["GET", "POST"])
def key_upload(request: HttpRequest, account_id: Any) -> HttpResponse:
    account = service_account_get(account_id)
    form = KeyUploadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key = call_service(
            form,
            lambda: services.service_account_key_register(
                actor=user_actor(request.user),
                account=account,
                public_key=form.cleaned_data["public_key"],
                algorithm=form.cleaned_data["algorithm"],
                expires_at=_valid_until(form.cleaned_data["valid_days"]),
            ),
        )
        if key is not None:
            messages.success(request, f"Public key {key.key_id} ({key.algorithm}) was registered.")
            return redirect("studio:service_account_detail", account_id=account.pk)
    return _key_form(request, account, form, upload=True, status=400 if form.errors else 200)


@admin_page
@require_POST
def key_revoke(request: HttpRequest, account_id: Any, key_id: Any) -> HttpResponse:
    account = service_account_get(account_id)
    key = service_account_key_get(account, key_id)
    already = key.revoked_at is not None
    services.service_account_key_revoke(actor=user_actor(request.user), key=key)
    if already:
        messages.info(request, f"Key {key.key_id} was already revoked.")
    else:
        messages.success(request, f"Key {key.key_id} is revoked: tokens obtained with it stop working now.")
    return redirect("studio:service_account_detail", account_id=account.pk)
