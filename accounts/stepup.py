"""When a person last passed an MFA check in this session, and whether that is recent enough for a
step-up action (revealing plaintext, detokenizing, service-account keys, policies, SSO/SCIM settings).

Every successful MFA check (login, step-up, enrolment) calls ``mark_mfa``; pages that need step-up ask
``mfa_recent``. The time lives in the session, which is server-side (the cookie holds only its key).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

MFA_AT_SESSION_KEY = "vs_mfa_at"


def mark_mfa(request: Any, *, at: float | None = None) -> None:
    """Record that this session's person has just passed an MFA check."""
    request.session[MFA_AT_SESSION_KEY] = time.time() if at is None else at


def mfa_age(request: Any) -> float | None:
    """Seconds since the session's last MFA check, or None if it never had one."""
    at = request.session.get(MFA_AT_SESSION_KEY)
    return None if at is None else max(0.0, time.time() - float(at))


def mfa_recent(request: Any) -> bool:
    """True if the last MFA check is within ``VAULTSTUDIO_STEP_UP_SECONDS`` (10 minutes by default)."""
    age = mfa_age(request)
    return age is not None and age <= settings.VAULTSTUDIO_STEP_UP_SECONDS
