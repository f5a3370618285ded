"""Celery tasks of the audit app: thin wrappers that call the audit services."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from .services import audit_chain_watch


@shared_task(name="audit.tasks.verify_chain")
def verify_chain() -> dict[str, Any]:
    """Beat's periodic chain check (``audit-verify-chain``): alert on a break, return the result."""
    return audit_chain_watch()
