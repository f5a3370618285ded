"""Each assertion is accepted once: where accepted assertions are remembered until they expire.

Two stores, one contract (``remember`` is atomic across every worker and returns False on a
replay): Redis (``SET NX EX`` through the shared cache) when the cache is Redis, otherwise a
database table written inside the grant's transaction. The table cannot evict an entry early, as a
cache may under memory pressure; Celery purges expired rows (``accounts.tasks.purge_used_assertions``).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from .models import UsedAssertion

_INSERT = "INSERT INTO accounts_usedassertion (digest, expires_at) VALUES (%s, %s) ON CONFLICT (digest) DO NOTHING"


def uses_cache() -> bool:
    if settings.VAULTSTUDIO_REPLAY_STORE == "cache":
        return True
    if settings.VAULTSTUDIO_REPLAY_STORE == "database":
        return False
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def remember(digest: str, expires_at: datetime) -> bool:
    """Record an assertion; False when it was recorded before (a replay)."""
    if uses_cache():
        timeout = max(1, int((expires_at - timezone.now()).total_seconds()) + 1)
        return bool(cache.add(f"assertion:{digest}", 1, timeout=timeout))
    field = UsedAssertion._meta.get_field("expires_at")
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, [digest, field.get_db_prep_value(expires_at, connection)])
        return cursor.rowcount == 1


def purge_expired(now: datetime | None = None) -> int:
    """Forget assertions that can no longer be valid; returns how many rows went."""
    deleted, _ = UsedAssertion.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
