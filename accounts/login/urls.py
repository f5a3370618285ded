"""Sign-in, MFA, step-up and personal-page URLs of the studio (mounted under /studio/ by
``vaultstudio.studio.site``; all names in the ``studio`` namespace).

django-otp-webauthn's ceremony endpoints are mounted here too, as ``studio:otp_webauthn:…`` under
/studio/webauthn/, with the studio's rules (``accounts.login.webauthn``). Its JavaScript catalogue
(jsi18n) is not mounted: the studio is English-only and ``static/accounts/gettext.js`` stands in.
"""

from __future__ import annotations

from django.urls import include, path

from . import views, webauthn

webauthn_patterns = (
    [
        path("registration/begin/", webauthn.RegistrationBegin.as_view(), name="credential-registration-begin"),
        path(
            "registration/complete/", webauthn.RegistrationComplete.as_view(), name="credential-registration-complete"
        ),
        path("authentication/begin/", webauthn.AuthenticationBegin.as_view(), name="credential-authentication-begin"),
        path(
            "authentication/complete/",
            webauthn.AuthenticationComplete.as_view(),
            name="credential-authentication-complete",
        ),
    ],
    "otp_webauthn",
)

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("mfa/", views.mfa_view, name="mfa"),
    path("mfa/enrol/", views.mfa_enrol_view, name="mfa_enrol"),
    path("mfa/enrol/totp/", views.mfa_enrol_totp_view, name="mfa_enrol_totp"),
    path("mfa/backup-codes/", views.backup_codes_view, name="mfa_backup_codes"),
    path("step-up/", views.step_up_view, name="step_up"),
    path("me/", views.me_view, name="me"),
    path("me/devices/add/totp/", views.me_add_totp_view, name="me_add_totp"),
    path("me/devices/add/passkey/", views.me_add_passkey_view, name="me_add_passkey"),
    path("me/devices/<str:kind>/<int:device_id>/remove/", views.me_device_remove_view, name="me_device_remove"),
    path("me/backup-codes/regenerate/", views.me_backup_codes_regenerate_view, name="me_backup_codes_regenerate"),
    path("me/sessions/<int:session_id>/end/", views.me_session_end_view, name="me_session_end"),
    path("webauthn/", include(webauthn_patterns)),
]
