"""AuditEvent: one row per audited action, hash-chained, append-only (DESIGN.md §4, §11).

JSON-valued fields are TextFields holding canonical JSON (see ``audit.chain``). A database trigger
refuses UPDATE and DELETE on the table (``audit.db``); a migration that makes Django's SQLite
backend rebuild this table drops the triggers with it and must install them again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import models

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch (the stored form of an event's time)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


class AuditEvent(models.Model):
    seq = models.BigIntegerField(primary_key=True, help_text="Position in the chain, from 1, without gaps.")
    event_id = models.CharField(max_length=36, unique=True)
    ts = models.BigIntegerField(db_index=True, help_text="Microseconds since the Unix epoch, UTC.")
    actor_type = models.CharField(max_length=32)
    actor_id = models.CharField(max_length=64, blank=True, db_index=True)
    actor_display = models.CharField(max_length=255, blank=True)
    auth_mode = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    resource_type = models.CharField(max_length=32, blank=True)
    resource_ids = models.TextField(default="[]")
    vault_id = models.CharField(max_length=64, blank=True, db_index=True)
    table_name = models.CharField(max_length=128, blank=True)
    columns = models.TextField(default="[]")
    record_count = models.IntegerField(null=True)
    decision = models.CharField(max_length=8, blank=True)
    policy_ids = models.TextField(default="[]")
    request_id = models.CharField(max_length=128, blank=True, db_index=True)
    ip = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    http_method = models.CharField(max_length=10, blank=True)
    http_path = models.CharField(max_length=512, blank=True)
    http_status = models.IntegerField(null=True)
    details = models.TextField(default="{}")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_display or self.actor_id or self.actor_type}"

    @property
    def timestamp(self) -> datetime:
        return from_us(self.ts)

    def as_dict(self) -> dict[str, Any]:
        """The event as the management API and the NDJSON export show it."""
        return {
            "seq": self.seq,
            "id": self.event_id,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "actor": {"type": self.actor_type, "id": self.actor_id, "display": self.actor_display},
            "auth_mode": self.auth_mode,
            "action": self.action,
            "resource": {"type": self.resource_type, "ids": json.loads(self.resource_ids)},
            "vault_id": self.vault_id or None,
            "table": self.table_name or None,
            "columns": json.loads(self.columns),
            "record_count": self.record_count,
            "decision": self.decision or None,
            "policy_ids": json.loads(self.policy_ids),
            "request": {
                "id": self.request_id,
                "ip": self.ip,
                "user_agent": self.user_agent,
                "method": self.http_method,
                "path": self.http_path,
                "status": self.http_status,
            },
            "details": json.loads(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class ChainHead(models.Model):
    """The single row that serializes appends: the last seq and hash of the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
