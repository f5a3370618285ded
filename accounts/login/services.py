"""A person signing in and out: password (argon2, counted by django-axes), the MFA check (also
counted), session rotation, lifetimes and the audit trail of every step (DESIGN.md §10).

Never reveals whether an email exists: a wrong password and an unknown email look the same, and
both count towards the lockout of that email and of the client address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import django_otp
from axes.handlers.proxy import AxesProxyHandler
from django.contrib import auth
from django.contrib.auth.signals import user_login_failed
from django.db import transaction

from accounts import sessions
from accounts.mfa.devices import BACKUP, TOTP, backup_device, kind_of, totp_devices
from accounts.mfa.services import enrolment_complete
from accounts.models import User
from accounts.principals import user_actor
from accounts.stepup import mark_mfa
from audit.actors import Actor
from audit.services import audit_append

LOGIN, STEP_UP, ENROLMENT = "login", "step_up", "enrolment"


@dataclass(frozen=True)
class Outcome:
    """What a password or MFA check came to: the person (or device) on success, else whether the
    failure locked the account (or it already was)."""

    ok: bool
    user: User | None = None
    device: Any = None
    locked: bool = False


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _credentials(email: str) -> dict[str, str]:
    # django-axes reads the username from AXES_USERNAME_FORM_FIELD ("email") of these credentials.
    return {"email": email}


def is_locked_out(request: Any, email: str) -> bool:
    return not AxesProxyHandler.is_allowed(request, _credentials(email))


def _actor_for(email: str) -> Actor:
    user = User.objects.filter(email__iexact=email).first() if email else None
    return user_actor(user) if user else Actor.anonymous(display=email[:255])


def audit_user_event(user: User, action: str, **fields: Any) -> None:
    """Audit ``action`` of ``user`` on their own account (sign-in, MFA, sign-out events)."""
    audit_append(actor=user_actor(user), action=action, resource_type="USER", resource_ids=[str(user.pk)], **fields)


def _audit_lockout(actor: Actor, stage: str) -> None:
    audit_append(
        actor=actor,
        action="auth.lockout",
        resource_type="USER",
        resource_ids=[actor.id] if actor.id else [],
        decision="DENY",
        http_status=429,
        details={"stage": stage},
    )


def password_login(request: Any, *, email: str, password: str) -> Outcome:
    """Check email + password; on success log the person in (Django rotates the session key) with
    MFA still to do. Failures are audited (never the password) and counted by django-axes."""
    email = normalize_email(email)
    if is_locked_out(request, email):
        audit_append(
            actor=_actor_for(email),
            action="auth.login.failure",
            decision="DENY",
            http_status=429,
            details={"reason": "locked_out"},
        )
        return Outcome(ok=False, locked=True)
    user = auth.authenticate(request, email=email, password=password)
    if user is None:
        # django.contrib.auth has sent user_login_failed: django-axes counted it, and flags the
        # request when this very failure reached the limit.
        locked = bool(getattr(request, "axes_locked_out", False))
        actor = _actor_for(email)
        with transaction.atomic():
            audit_append(
                actor=actor,
                action="auth.login.failure",
                decision="DENY",
                http_status=401,
                details={"reason": "bad_credentials"},
            )
            if locked:
                _audit_lockout(actor, "password")
        return Outcome(ok=False, locked=locked)
    with transaction.atomic():
        # A new session key (no fixation); accounts.sessions starts its lifetimes and tracks it.
        auth.login(request, user)
        audit_user_event(user, "auth.login.success", decision="ALLOW", details={"mfa": "pending"})
    return Outcome(ok=True, user=user)


def find_code_device(user: User, method: str, code: str) -> Any | None:
    """The device that accepts ``code`` (TOTP: each confirmed app; backup: the person's code set).
    Accepting spends the code: a TOTP step is never accepted twice, a backup code is deleted."""
    code = (code or "").strip()
    if not code:
        return None
    if method == TOTP:
        token = code.replace(" ", "")
        for device in totp_devices(user):
            if device.verify_token(token):
                return device
        return None
    if method == BACKUP:
        device = backup_device(user)
        if device is not None and device.verify_token(code):
            return device
    return None


def mfa_check(request: Any, *, method: str, code: str, purpose: str) -> Outcome:
    """Verify a TOTP or backup code for the logged-in person. Success: ``mfa_passed``. Failure:
    audited and counted by django-axes like a wrong password (the lockout covers both); when it
    locks the account, the session ends."""
    user = request.user
    if is_locked_out(request, user.email):
        mfa_locked(request, stage=purpose)
        return Outcome(ok=False, locked=True)
    device = find_code_device(user, method, code)
    if device is not None:
        mfa_passed(request, device, purpose=purpose)
        return Outcome(ok=True, user=user, device=device)
    user_login_failed.send(sender=__name__, credentials=_credentials(user.email), request=request)
    locked = bool(getattr(request, "axes_locked_out", False))
    audit_user_event(
        user,
        "auth.mfa.failure",
        decision="DENY",
        http_status=401,
        details={"purpose": purpose, "device_kind": method},
    )
    if locked:
        mfa_locked(request, stage=purpose, newly=True)
    return Outcome(ok=False, locked=locked)


def mfa_locked(request: Any, *, stage: str, newly: bool = False) -> None:
    """The person is locked out while signed in: audit it and end this session."""
    user = request.user
    if newly:
        _audit_lockout(user_actor(user), stage)
    logout(request, reason="locked_out")


def mfa_passed(request: Any, device: Any, *, purpose: str) -> None:
    """The person has just passed an MFA check with ``device`` (login, step-up or enrolment): the
    session is bound to the device, gets a new key again, records the time for step-up, and the
    failure count of the person is cleared."""
    user = request.user
    old_key = request.session.session_key
    with transaction.atomic():
        django_otp.login(request, device)
        request.session.cycle_key()
        sessions.session_rotated(request, old_key)
        mark_mfa(request)
        AxesProxyHandler.reset_attempts(username=user.email)
        audit_user_event(
            user,
            "auth.mfa.success",
            decision="ALLOW",
            details={"purpose": purpose, "device_kind": kind_of(device), "device_id": device.pk},
        )


def first_device_enrolled(request: Any, device: Any) -> list[str]:
    """A person without MFA has just confirmed their first TOTP app or passkey: that counts as
    passing MFA (``mfa_passed``), and they get their backup codes, returned to be shown once."""
    mfa_passed(request, device, purpose=ENROLMENT)
    return enrolment_complete(actor=user_actor(request.user), user=request.user)


def logout(request: Any, *, reason: str = "user") -> None:
    """End the current session (its row, its data, a new empty session), audited."""
    user = request.user
    key = request.session.session_key
    with transaction.atomic():
        if user.is_authenticated:
            audit_user_event(user, "auth.logout", details={"reason": reason})
        sessions.forget(key)
        auth.logout(request)
