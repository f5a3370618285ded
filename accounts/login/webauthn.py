"""django-otp-webauthn's four ceremony endpoints, fitted to the studio's rules.

The library's views log a person in and mark the session verified on their own; here every passed
check goes through ``services.mfa_passed`` (new session key, step-up time, audit), every new passkey
is audited, and a passkey can only be registered as the first device (right after the password) or
after a recent MFA check (step-up). Passwordless login stays off (``OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN``):
a passkey is the second factor after the password.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import JsonResponse
from django.urls import reverse
from django_otp_webauthn import exceptions
from django_otp_webauthn.utils import rewrite_exceptions
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
    _get_pywebauthn_logger,
)

from accounts.mfa import services as mfa_services
from accounts.mfa.devices import WEBAUTHN, has_primary_device
from accounts.principals import user_actor
from accounts.stepup import mfa_recent

from . import services
from .views import NEW_CODES_SESSION_KEY, safe_next


class StepUpRequired(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_detail = "Confirm it’s you (step-up) before adding a passkey: reload the page."
    default_code = "step_up_required"


class LockedOut(exceptions.OTPWebAuthnApiError):
    status_code = 429
    default_detail = "Too many failed attempts: sign-in is blocked for a while."
    default_code = "locked_out"


class _RegistrationRules:
    def check_can_register(self) -> None:
        request = self.request  # type: ignore[attr-defined]
        if request.user.is_verified():
            if not mfa_recent(request):
                raise StepUpRequired()
        elif has_primary_device(request.user):
            # The library refuses this too (NotVerified); kept here so the rule reads in one place.
            raise exceptions.NotVerified()


class RegistrationBegin(_RegistrationRules, BeginCredentialRegistrationView):
    pass


class RegistrationComplete(_RegistrationRules, CompleteCredentialRegistrationView):
    def post(self, *args: Any, **kwargs: Any) -> JsonResponse:
        request = self.request
        user = self.get_user()
        state = self.get_state()
        helper = self.get_helper()
        first = not request.user.is_verified()
        actor = user_actor(user)
        with transaction.atomic(), rewrite_exceptions(logger=_get_pywebauthn_logger()):
            device = helper.register_complete(user=user, state=state, data=request.data)
            if not device.name:
                device.name = "Passkey"
                device.save(update_fields=["name"])
            mfa_services.webauthn_device_added(actor=actor, device=device)
        if first:
            request.session[NEW_CODES_SESSION_KEY] = services.first_device_enrolled(request, device)
            redirect_url = reverse("studio:mfa_backup_codes")
        else:
            redirect_url = reverse("studio:me")
        return JsonResponse({"id": device.pk, "redirect_url": redirect_url})


class AuthenticationBegin(BeginCredentialAuthenticationView):
    def check_can_authenticate(self) -> None:
        request = self.request
        if not request.user.is_authenticated:
            raise exceptions.PasswordlessLoginDisabled()
        if services.is_locked_out(request, request.user.email):
            raise LockedOut()


class AuthenticationComplete(CompleteCredentialAuthenticationView):
    def check_can_authenticate(self) -> None:
        AuthenticationBegin.check_can_authenticate(self)  # type: ignore[arg-type]

    def complete_auth(self, device: Any) -> None:
        request = self.request
        purpose = services.STEP_UP if request.user.is_verified() else services.LOGIN
        services.mfa_passed(request, device, purpose=purpose)

    def get_success_url(self) -> str:
        return safe_next(self.request, self.request.GET.get("next"))

    def handle_exception(self, exc: Exception) -> JsonResponse:
        # A failed ceremony is audited; it does not count towards the lockout (a passkey cannot be
        # guessed, and a cancelled browser prompt is not an attack).
        user = getattr(self.request, "user", None)
        if isinstance(exc, exceptions.OTPWebAuthnApiError) and user is not None and user.is_authenticated:
            services.audit_user_event(
                user,
                "auth.mfa.failure",
                decision="DENY",
                http_status=exc.status_code,
                details={"device_kind": WEBAUTHN, "reason": exc.code},
            )
        return super().handle_exception(exc)
