"""A person's studio sessions: when they began and were last used (idle and absolute lifetimes),
which are live (``UserSession``, listed on the personal page), and ending them — one, or all at once
(deactivation, password change by an admin).

Sessions are server-side rows (the cookie holds only the key), so a deleted one is dead on the very
next request.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_append
from vaultstudio.net import client_ip

from .models import User, UserSession

LOGIN_AT_SESSION_KEY = "vs_login_at"  # time.time() of the password check
SEEN_AT_SESSION_KEY = "vs_seen_at"  # time.time() of the last request
EXPIRED_NOTICE_SESSION_KEY = "vs_expired"  # tell the login page why the person is there
# Writing the session and its row on every request would cost a write per page; within this many
# seconds the previous "last seen" stands (far below the idle timeout).
TOUCH_RESOLUTION_SECONDS = 30


def _ip(request: Any) -> str | None:
    ip = client_ip(request)
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def on_user_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Receiver of Django's ``user_logged_in`` (connected in ``AccountsConfig.ready``)."""
    if request is not None and hasattr(request, "session") and isinstance(user, User):
        session_started(request, user)


def session_started(request: Any, user: User) -> None:
    """Right after Django's login (the session key is already new): the lifetimes start now and the
    session is tracked."""
    now = time.time()
    request.session[LOGIN_AT_SESSION_KEY] = now
    request.session[SEEN_AT_SESSION_KEY] = now
    # Rows of this person's sessions that expired on their own (no logout) go now.
    UserSession.objects.filter(user=user).exclude(session_key__in=Session.objects.values("session_key")).delete()
    track(request, user)


def track(request: Any, user: User) -> None:
    """Make sure this session has its ``UserSession`` row (one query). Logins get theirs at once;
    a session made without ``django.contrib.auth.login`` (test helpers) gets its row when it is
    next touched, or when its person opens their page."""
    if request.session.session_key is None:
        request.session.save()
    UserSession.objects.bulk_create(
        [
            UserSession(
                user=user,
                session_key=request.session.session_key,
                ip=_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
            )
        ],
        ignore_conflicts=True,
    )


def session_rotated(request: Any, old_key: str | None) -> None:
    """After ``request.session.cycle_key()``: the row follows the session to its new key."""
    new_key = request.session.session_key
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def expiry_reason(request: Any, now: float | None = None) -> str | None:
    """Why this logged-in session must end now ("idle" or "absolute"), or None if it may go on.
    A session without its start time (made by something that skipped ``session_started``) is
    treated as expired: fail closed."""
    now = time.time() if now is None else now
    login_at = request.session.get(LOGIN_AT_SESSION_KEY)
    seen_at = request.session.get(SEEN_AT_SESSION_KEY, login_at)
    if login_at is None or now - float(login_at) > settings.VAULTSTUDIO_SESSION_ABSOLUTE_SECONDS:
        return "absolute"
    if seen_at is None or now - float(seen_at) > settings.VAULTSTUDIO_SESSION_IDLE_SECONDS:
        return "idle"
    return None


def touch(request: Any, user: User, now: float | None = None) -> None:
    """Record that the session was used now — at most once per ``TOUCH_RESOLUTION_SECONDS``, so
    most requests cost no query at all."""
    now = time.time() if now is None else now
    seen_at = float(request.session.get(SEEN_AT_SESSION_KEY, 0))
    if now - seen_at < TOUCH_RESOLUTION_SECONDS:
        return
    request.session[SEEN_AT_SESSION_KEY] = now
    if not UserSession.objects.filter(session_key=request.session.session_key).update(last_seen_at=timezone.now()):
        track(request, user)


def forget(session_key: str | None) -> None:
    """The session is over (logout, expiry): drop its row."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def sessions_of(user: User) -> list[UserSession]:
    """The person's live sessions, most recently used first."""
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    return list(UserSession.objects.filter(user=user, session_key__in=live).order_by("-last_seen_at"))


def end_sessions(user: User) -> int:
    """Delete every session of ``user``; returns how many were ended.

    The person's sessions are found through their ``UserSession`` rows (every login makes one), not
    by reading the whole session store; only sessions without a row (anonymous ones, or one made
    without ``django.contrib.auth.login`` and not used since) are decoded to make sure none is missed.
    """
    user_id = str(user.pk)
    with transaction.atomic():
        keys = set(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
        untracked = Session.objects.filter(expire_date__gt=timezone.now()).exclude(
            session_key__in=UserSession.objects.values("session_key")
        )
        keys.update(s.session_key for s in untracked.iterator() if s.get_decoded().get(SESSION_KEY) == user_id)
        ended, _ = Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).delete()
        Session.objects.filter(session_key__in=keys).delete()
        UserSession.objects.filter(user=user).delete()
    return ended


def session_end(*, actor: Actor, session: UserSession) -> None:
    """End one of a person's sessions from their personal page (or an admin's), audited."""
    with transaction.atomic():
        audit_append(
            actor=actor,
            action="session.end",
            resource_type="USER",
            resource_ids=[str(session.user_id)],
            details={"session_id": session.pk, "started": session.created_at.isoformat()},
        )
        Session.objects.filter(session_key=session.session_key).delete()
        session.delete()
