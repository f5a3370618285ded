"""The sign-in pages (password → MFA or enrolment, lockout, logout), step-up, and the personal page
with its MFA devices, backup codes and sessions.

Pages a person reaches before MFA (login, the MFA step, first enrolment) cannot use ``studio_page``,
whose first demand is a verified session; each guards itself with ``_pre_mfa_gate``. Everything
after MFA is a ``studio_page``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from accounts import sessions
from accounts.mfa import services as mfa_services
from accounts.mfa.backup_codes import COUNT as BACKUP_CODE_COUNT
from accounts.mfa.devices import (
    BACKUP,
    TOTP,
    backup_codes_left,
    backup_device,
    has_primary_device,
    primary_device_of,
    primary_devices,
    totp_devices,
    webauthn_devices,
)
from accounts.models import UserSession
from accounts.principals import user_actor
from vaultstudio.errors import Conflict
from vaultstudio.studio import studio_page

from . import services
from .forms import BackupCodeForm, LoginForm, TotpCodeForm, TotpEnrolForm

HOME = "/studio/"
PENDING_TOTP_SESSION_KEY = "vs_pending_totp"
NEW_CODES_SESSION_KEY = "vs_new_backup_codes"  # shown once, then removed from the session


# --- helpers ---------------------------------------------------------------------------------------


def safe_next(request: HttpRequest, value: str | None, default: str = HOME) -> str:
    """``value`` if it is a path on this site, else ``default``: never an open redirect (no scheme,
    no other host, no ``//host`` or ``/\\host`` tricks)."""
    if (
        value
        and value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False)
    ):
        return value
    return default


def _next_of(request: HttpRequest, default: str = HOME) -> str:
    return safe_next(request, request.POST.get("next") or request.GET.get("next"), default)


def _with_next(url_name: str, next_url: str) -> str:
    url = reverse(url_name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url and next_url != HOME else url


def webauthn_config(request: HttpRequest) -> dict[str, Any]:
    """What django-otp-webauthn's browser script reads from ``#otp_webauthn_config`` (the same keys
    as its ``render_otp_webauthn_*`` template tags, whose URLs assume a top-level mount)."""
    return {
        "autocompleteLoginFieldSelector": None,
        "nextFieldSelector": "input[name='next']",
        "csrfToken": get_token(request),
        "beginAuthenticationUrl": reverse("studio:otp_webauthn:credential-authentication-begin"),
        "completeAuthenticationUrl": reverse("studio:otp_webauthn:credential-authentication-complete"),
        "beginRegistrationUrl": reverse("studio:otp_webauthn:credential-registration-begin"),
        "completeRegistrationUrl": reverse("studio:otp_webauthn:credential-registration-complete"),
    }


def locked_out_page(request: HttpRequest) -> HttpResponse:
    minutes = int(round(float(settings.AXES_COOLOFF_TIME) * 60))
    response = render(
        request,
        "accounts/locked_out.html",
        {"title": "Sign-in blocked", "minutes": minutes, "limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
    response.vs_lockout_page = True  # type: ignore[attr-defined]
    return response


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: our own page (the views here already return it)."""
    if original_response is not None and getattr(original_response, "vs_lockout_page", False):
        return original_response
    return locked_out_page(request)


def _pre_mfa_gate(request: HttpRequest) -> HttpResponse | None:
    """For pages between the password and MFA: anonymous → login; already verified → onwards."""
    user = request.user
    if not user.is_authenticated:
        return redirect(_with_next("studio:login", _next_of(request)))
    if user.is_verified():  # type: ignore[union-attr]
        return redirect(_next_of(request))
    return None


# --- password ----------------------------------------------------------------------------------------


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _next_of(request)
    if request.user.is_authenticated:
        if request.user.is_verified():  # type: ignore[union-attr]
            return redirect(next_url)
        return redirect(_with_next("studio:mfa", next_url))
    if request.session.pop(sessions.EXPIRED_NOTICE_SESSION_KEY, False):
        messages.warning(request, "Your session expired. Sign in again.")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = services.password_login(
            request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
        )
        if outcome.locked:
            return locked_out_page(request)
        if outcome.ok:
            return redirect(_with_next("studio:mfa", next_url))
        form.add_error(None, "The email or password is incorrect.")
    return render(request, "accounts/login.html", {"title": "Sign in", "form": form, "next": next_url})


@never_cache
@csrf_protect
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    services.logout(request)
    messages.info(request, "You are signed out.")
    return redirect("studio:login")


# --- the MFA step after the password ---------------------------------------------------------------


def _verify_context(
    request: HttpRequest, next_url: str, totp_form: Any = None, backup_form: Any = None
) -> dict[str, Any]:
    user = request.user
    return {
        "next": next_url,
        "has_totp": bool(totp_devices(user)),  # type: ignore[arg-type]
        "has_webauthn": bool(webauthn_devices(user)),  # type: ignore[arg-type]
        "has_backup": backup_device(user) is not None,  # type: ignore[arg-type]
        "totp_form": totp_form or TotpCodeForm(prefix="totp"),
        "backup_form": backup_form or BackupCodeForm(prefix="backup"),
        "webauthn_config": webauthn_config(request),
    }


def _verify_post(request: HttpRequest, purpose: str, next_url: str, template: str, title: str) -> HttpResponse:
    """Handle a TOTP or backup-code form of the MFA step or of step-up."""
    method = request.POST.get("method")
    totp_form = TotpCodeForm(request.POST, prefix="totp") if method == TOTP else None
    backup_form = BackupCodeForm(request.POST, prefix="backup") if method == BACKUP else None
    form = totp_form or backup_form
    if form is not None and form.is_valid():
        outcome = services.mfa_check(request, method=method or "", code=form.cleaned_data["code"], purpose=purpose)
        if outcome.locked:
            return locked_out_page(request)
        if outcome.ok:
            if purpose == services.STEP_UP:
                messages.success(request, "Identity confirmed.")
            return redirect(next_url)
        form.add_error("code", "That code is not valid (or was already used). Try the current one.")
    context = _verify_context(request, next_url, totp_form, backup_form)
    context.update(title=title, open_backup=method == BACKUP)
    return render(request, template, context, status=200 if form is None else 400)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def mfa_view(request: HttpRequest) -> HttpResponse:
    gate = _pre_mfa_gate(request)
    if gate is not None:
        return gate
    next_url = _next_of(request)
    if not has_primary_device(request.user):  # type: ignore[arg-type]
        return redirect(_with_next("studio:mfa_enrol", next_url))
    title = "Two-factor verification"
    if request.method == "POST":
        return _verify_post(request, services.LOGIN, next_url, "accounts/mfa.html", title)
    context = _verify_context(request, next_url)
    context["title"] = title
    return render(request, "accounts/mfa.html", context)


# --- first enrolment (MFA is mandatory: nothing else is reachable before it) -------------------------


def _enrol_gate(request: HttpRequest) -> HttpResponse | None:
    gate = _pre_mfa_gate(request)
    if gate is not None:
        return gate
    if has_primary_device(request.user):  # type: ignore[arg-type]
        # Enrolled already: prove it with that device; more devices are added from the personal page.
        return redirect(_with_next("studio:mfa", _next_of(request)))
    return None


@never_cache
@csrf_protect
@require_http_methods(["GET"])
def mfa_enrol_view(request: HttpRequest) -> HttpResponse:
    gate = _enrol_gate(request)
    if gate is not None:
        return gate
    return render(
        request,
        "accounts/enrol.html",
        {
            "title": "Set up two-factor authentication",
            "next": _next_of(request),
            "webauthn_config": webauthn_config(request),
        },
    )


def _qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=4, border=2)


def _totp_enrol(request: HttpRequest, *, first: bool, template_base: str) -> HttpResponse:
    user = request.user
    device = mfa_services.totp_device_start(user=user, pending_id=request.session.get(PENDING_TOTP_SESSION_KEY))  # type: ignore[arg-type]
    request.session[PENDING_TOTP_SESSION_KEY] = device.pk
    form = TotpEnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actor = user_actor(user)  # type: ignore[arg-type]
        if mfa_services.totp_device_confirm(
            actor=actor, device=device, token=form.cleaned_data["code"], name=form.cleaned_data["name"]
        ):
            request.session.pop(PENDING_TOTP_SESSION_KEY, None)
            device.refresh_from_db()
            if first:
                request.session[NEW_CODES_SESSION_KEY] = services.first_device_enrolled(request, device)
                return redirect(_with_next("studio:mfa_backup_codes", _next_of(request)))
            messages.success(request, f"Authenticator “{device.name}” added.")
            return redirect("studio:me")
        form.add_error("code", "That code does not match. Check the app shows this account, then try the current code.")
    context = {
        "title": "Add an authenticator app",
        "form": form,
        "next": _next_of(request),
        "qr": _qr_data_uri(device.config_url),
        "secret": mfa_services.totp_secret_base32(device),
        "base_template": template_base,
        "first": first,
    }
    return render(request, "accounts/enrol_totp.html", context, status=400 if form.errors else 200)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def mfa_enrol_totp_view(request: HttpRequest) -> HttpResponse:
    gate = _enrol_gate(request)
    if gate is not None:
        return gate
    return _totp_enrol(request, first=True, template_base="studio/auth_base.html")


@studio_page
@require_http_methods(["GET"])
def backup_codes_view(request: HttpRequest) -> HttpResponse:
    """The new backup codes, once: they leave the session as this page renders them."""
    codes = request.session.pop(NEW_CODES_SESSION_KEY, None)
    return render(
        request,
        "accounts/backup_codes.html",
        {"title": "Your backup codes", "codes": codes, "next": _next_of(request)},
    )


# --- step-up -------------------------------------------------------------------------------------------


@studio_page
@require_http_methods(["GET", "POST"])
def step_up_view(request: HttpRequest) -> HttpResponse:
    next_url = _next_of(request, default=reverse("studio:me"))
    title = "Confirm it’s you"
    if request.method == "POST":
        return _verify_post(request, services.STEP_UP, next_url, "accounts/step_up.html", title)
    context = _verify_context(request, next_url)
    context["title"] = title
    return render(request, "accounts/step_up.html", context)


# --- the personal page ---------------------------------------------------------------------------------


@studio_page
@require_http_methods(["GET"])
def me_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    current_key = request.session.session_key
    live = sessions.sessions_of(user)  # type: ignore[arg-type]
    if current_key not in {s.session_key for s in live}:  # a session made without the login page
        sessions.track(request, user)  # type: ignore[arg-type]
        live = sessions.sessions_of(user)  # type: ignore[arg-type]
    return render(
        request,
        "accounts/me.html",
        {
            "title": "Your account",
            "devices": primary_devices(user),  # type: ignore[arg-type]
            "backup_left": backup_codes_left(user),  # type: ignore[arg-type]
            "backup_total": BACKUP_CODE_COUNT,
            "has_backup": backup_device(user) is not None,  # type: ignore[arg-type]
            "sessions": live,
            "current_key": current_key,
            "idle_minutes": settings.VAULTSTUDIO_SESSION_IDLE_SECONDS // 60,
        },
    )


@studio_page(step_up=True)
@require_http_methods(["GET", "POST"])
def me_add_totp_view(request: HttpRequest) -> HttpResponse:
    return _totp_enrol(request, first=False, template_base="studio/base.html")


@studio_page(step_up=True)
@require_http_methods(["GET"])
def me_add_passkey_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/add_passkey.html",
        {"title": "Add a passkey", "webauthn_config": webauthn_config(request)},
    )


@studio_page(step_up=True)
@require_http_methods(["GET", "POST"])
def me_device_remove_view(request: HttpRequest, kind: str, device_id: int) -> HttpResponseBase:
    device = primary_device_of(request.user, kind, device_id)  # type: ignore[arg-type]
    if device is None:
        messages.error(request, "That device does not exist (or is not yours).")
        return redirect("studio:me")
    if request.method == "POST":
        try:
            mfa_services.device_remove(actor=user_actor(request.user), device=device)  # type: ignore[arg-type]
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("studio:me")
        messages.success(request, f"“{device.name or 'Passkey'}” removed.")
        return redirect("studio:me")
    return render(
        request,
        "accounts/device_remove.html",
        {
            "title": "Remove a sign-in method",
            "device": device,
            "kind": kind,
            "only_one": len(primary_devices(request.user)) < 2,
        },  # type: ignore[arg-type]
    )


@studio_page(step_up=True)
@require_http_methods(["GET", "POST"])
def me_backup_codes_regenerate_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        codes = mfa_services.backup_codes_regenerate(actor=user_actor(request.user), user=request.user)  # type: ignore[arg-type]
        request.session[NEW_CODES_SESSION_KEY] = codes
        return redirect(_with_next("studio:mfa_backup_codes", reverse("studio:me")))
    return render(
        request,
        "accounts/backup_codes_regenerate.html",
        {"title": "New backup codes", "backup_left": backup_codes_left(request.user)},  # type: ignore[arg-type]
    )


@studio_page
@require_POST
def me_session_end_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = UserSession.objects.filter(user=request.user, pk=session_id).first()
    if session is None:
        messages.error(request, "That session has already ended.")
        return redirect("studio:me")
    current = session.session_key == request.session.session_key
    sessions.session_end(actor=user_actor(request.user), session=session)  # type: ignore[arg-type]
    if current:
        # The session this request came with is gone: start an empty one for the login page.
        request.session.flush()
        return redirect("studio:login")
    messages.success(request, "Session ended.")
    return redirect("studio:me")
