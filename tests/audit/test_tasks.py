"""The periodic chain check (Celery task ``audit.tasks.verify_chain``)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from audit.models import AuditEvent
from audit.services import CHAIN_BROKEN_CACHE_KEY
from audit.tasks import verify_chain
from vaultstudio.celery import app

from .conftest import triggers_dropped

pytestmark = pytest.mark.django_db


def test_the_task_is_registered_under_the_beat_schedules_name():
    assert verify_chain.name == "audit.tasks.verify_chain"
    assert "audit.tasks.verify_chain" in app.tasks
    assert settings.CELERY_BEAT_SCHEDULE["audit-verify-chain"]["task"] == verify_chain.name


def test_an_intact_chain_writes_nothing_and_clears_the_flag(append_event):
    for i in range(3):
        append_event(action="thing.create", details={"i": i})
    cache.set(CHAIN_BROKEN_CACHE_KEY, {"valid": False}, timeout=None)
    before = AuditEvent.objects.count()
    result = verify_chain.apply().get()
    assert result == {"valid": True, "checked": before, "first_bad_seq": None, "reason": ""}
    assert AuditEvent.objects.count() == before
    assert cache.get(CHAIN_BROKEN_CACHE_KEY) is None


def test_a_tampered_chain_writes_chain_broken_and_sets_the_flag(append_event):
    seqs = [append_event(action="thing.create", details={"i": i}).seq for i in range(4)]
    cache.delete(CHAIN_BROKEN_CACHE_KEY)
    with triggers_dropped():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET details = '{}' WHERE seq = %s", [seqs[1]])
        result = verify_chain.apply().get()  # as a worker would run it
        again = verify_chain()  # and as a plain call
    assert result["valid"] is False and result["first_bad_seq"] == seqs[1] and result["checked"] == seqs[1] - 1
    assert again == result
    broken = list(AuditEvent.objects.filter(action="audit.chain.broken").order_by("seq"))
    assert len(broken) == 2  # a chain that stays broken is reported at every run
    event = broken[0]
    assert (event.actor_type, event.actor_display, event.auth_mode) == ("SYSTEM", "audit-verifier", "SYSTEM")
    assert event.resource_type == "AUDIT"
    assert json.loads(event.details) == {
        "first_bad_seq": seqs[1],
        "reason": result["reason"],
        "checked": seqs[1] - 1,
    }
    assert cache.get(CHAIN_BROKEN_CACHE_KEY) == result
