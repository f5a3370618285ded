"""Benchmark 2: audit appends/s against a plain Django INSERT of the same row.

``audit.services.audit_append`` (bump the chain head, hash, insert — each call in its own
transaction) is compared with ``Model.objects.create(...)`` of the same row into
``bench_plain_event``: a table with the audit table's columns and indexes but no chain head, no
hashing and no triggers, each create in its own transaction too. A raw-SQL single INSERT of the same
row is timed alongside for context: it is the floor any writer on this database pays.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

from bench._common import Result, Sizes, interleaved, progress

NAME = "audit-append"
TARGET = 0.50
PLAIN_TABLE = "bench_plain_event"


def plain_event_model() -> Any:
    """An unmanaged model with AuditEvent's fields (so the same columns and indexes) on its own table."""
    from django.db import models

    from audit.models import AuditEvent

    attrs: dict[str, Any] = {
        "__module__": __name__,
        "Meta": type("Meta", (), {"app_label": "bench", "db_table": PLAIN_TABLE, "managed": False}),
    }
    for model_field in AuditEvent._meta.local_fields:
        attrs[model_field.name] = model_field.clone()
    return type("BenchPlainEvent", (models.Model,), attrs)


def run(sizes: Sizes, backend: str) -> list[Result]:
    from django.db import connection, transaction

    from audit.actors import AUTH_SERVICE_ACCOUNT_JWT, SERVICE_ACCOUNT, Actor
    from audit.chain import CHAIN_FIELDS, canonical_value
    from audit.context import RequestMeta, current_request
    from audit.models import to_us
    from audit.services import audit_append

    plain = plain_event_model()
    with connection.schema_editor() as editor:
        editor.create_model(plain)

    # A typical data-plane event: a service account reading three records with one column redacted.
    client_id = str(uuid.uuid4())
    vault_id = uuid.uuid4().hex
    record_ids = [str(uuid.uuid4()) for _ in range(3)]
    event = {
        "actor": Actor(SERVICE_ACCOUNT, client_id, "bench-service-account", AUTH_SERVICE_ACCOUNT_JWT),
        "action": "record.read",
        "resource_type": "RECORD",
        "resource_ids": record_ids,
        "vault_id": vault_id,
        "table": "customers",
        "columns": ["name", "email", "ssn"],
        "record_count": 3,
        "decision": "ALLOW",
        "policy_ids": [str(uuid.uuid4())],
        "http_status": 200,
        "details": {"redacted": ["ssn"], "redaction": "MASKED"},
    }
    meta = RequestMeta(
        request_id=str(uuid.uuid4()),
        ip="203.0.113.7",
        user_agent="skyflow-python/2.1.3",
        method="GET",
        path=f"/v1/vaults/{vault_id}/customers",
    )
    context_token = current_request.set(meta)

    seq = itertools.count(1)

    def plain_row() -> dict[str, Any]:
        # The same values audit_append would store, built before the clock starts: the baseline
        # times the INSERT and its transaction, nothing else.
        actor = event["actor"]
        return {
            "seq": next(seq),
            "event_id": str(uuid.uuid4()),
            "ts": to_us(datetime.now(UTC)),
            "actor_type": actor.type,
            "actor_id": actor.id,
            "actor_display": actor.display,
            "auth_mode": actor.auth_mode,
            "action": event["action"],
            "resource_type": event["resource_type"],
            "resource_ids": canonical_value(record_ids),
            "vault_id": vault_id,
            "table_name": event["table"],
            "columns": canonical_value(event["columns"]),
            "record_count": 3,
            "decision": "ALLOW",
            "policy_ids": canonical_value(event["policy_ids"]),
            "request_id": meta.request_id,
            "ip": meta.ip,
            "user_agent": meta.user_agent,
            "http_method": meta.method,
            "http_path": meta.path,
            "http_status": 200,
            "details": canonical_value(event["details"]),
            "prev_hash": "a" * 64,
            "hash": "b" * 64,
        }

    batch = sizes.append_batch
    total = sizes.rounds * batch + batch  # one extra batch for warming up
    orm_rows = iter([plain_row() for _ in range(total)])
    columns = (*CHAIN_FIELDS, "prev_hash", "hash")
    raw_rows = iter([[row[name] for name in columns] for row in (plain_row() for _ in range(total))])
    insert_sql = f"INSERT INTO {PLAIN_TABLE} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"

    def append() -> int:
        for _ in range(batch):
            audit_append(**event)
        return batch

    def orm_create() -> int:
        for _ in range(batch):
            with transaction.atomic():
                plain.objects.create(**next(orm_rows))
        return batch

    def raw_insert() -> int:
        for _ in range(batch):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(insert_sql, next(raw_rows))
        return batch

    try:
        append()
        orm_create()
        raw_insert()
        progress(f"{backend}: timing {sizes.rounds} rounds × {batch} appends/inserts per subject")
        rates = interleaved({"append": append, "orm": orm_create, "raw": raw_insert}, sizes.rounds)
    finally:
        current_request.reset(context_token)

    base_label = "(ORM create, own txn)"
    return [
        Result(
            bench=NAME,
            label="audit append",
            backend=backend,
            unit="app/s",
            runs=rates["append"],
            baseline_label=base_label,
            baseline_runs=rates["orm"],
            target_kind="ratio",
            target=TARGET,
            note="audit_append(), each in its own transaction; baseline: BenchPlainEvent.objects.create() of the "
            f"same row into {PLAIN_TABLE} (same columns and indexes, no chain, no triggers)",
        ),
        Result(
            bench=NAME,
            label="  raw SQL INSERT of the row",
            backend=backend,
            unit="ins/s",
            runs=rates["raw"],
            baseline_label=base_label,
            baseline_runs=rates["orm"],
            note="one cursor.execute(INSERT …) per transaction: the floor for any writer",
        ),
    ]
