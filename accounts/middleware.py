"""Server-side session rules for people (DESIGN.md §10): idle timeout, absolute lifetime from the
login, and a deactivated (or deleted) person's session is dead on their next request.

Installed right after django-otp's OTPMiddleware. Bearer-token requests carry no session and pass
straight through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse

from . import sessions
from .login import services


class StudioSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.check(request)
        return self.get_response(request)

    def check(self, request: Any) -> None:
        session = request.session
        if SESSION_KEY not in session:
            return
        user = request.user
        if not user.is_authenticated:
            # The session names someone who may no longer sign in (deactivated, deleted, password
            # changed): end it for good, not just for this request.
            sessions.forget(session.session_key)
            session.flush()
            return
        reason = sessions.expiry_reason(request)
        if reason is None:
            sessions.touch(request, user)
            return
        # Logged out, the request goes on as anonymous: a studio page sends it to the login page
        # (which says why), the API answers 401.
        services.logout(request, reason=f"{reason}_timeout")
        request.session[sessions.EXPIRED_NOTICE_SESSION_KEY] = True
