"""Celery tasks of the accounts app: thin shells around services."""

from celery import shared_task

from .replay import purge_expired
from .services import key_expiry_sweep


@shared_task(name="accounts.tasks.key_expiry_sweep")
def key_expiry_sweep_task() -> int:
    """Remind owners and admins of service-account keys expiring in 30, 7 and 1 days (each once)."""
    return key_expiry_sweep()


@shared_task(name="accounts.tasks.purge_used_assertions")
def purge_used_assertions() -> int:
    """Drop remembered assertions that have expired (they are refused on exp before replay)."""
    return purge_expired()
