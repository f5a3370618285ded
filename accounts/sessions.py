"""A person's studio sessions: ending them all at once (deactivation, password change by an admin)."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone

from .models import User


def end_sessions(user: User) -> int:
    """Delete every unexpired session of ``user``; returns how many were ended.

    Reads each live session to find the person's, so it costs one pass over live sessions. Sessions
    are server-side rows, so a deleted one is dead on the very next request.
    """
    ended = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            ended.append(session.session_key)
    Session.objects.filter(session_key__in=ended).delete()
    return len(ended)
