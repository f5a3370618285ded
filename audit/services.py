"""Writing and verifying the audit chain.

``audit_append`` is called by every service that changes something, inside the transaction of
that change: if the append fails, the change rolls back with it (fail closed). Appends are
serialized on the single ``audit_chainhead`` row (a row lock on PostgreSQL; SQLite transactions
here are IMMEDIATE, so they already hold the database's write lock), so the chain never forks and
``seq`` has no gaps. The writer uses raw SQL: it is on every request's path (DESIGN.md §16).
"""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

from .actors import Actor
from .chain import CHAIN_FIELDS, GENESIS_HASH, VerifyResult, canonical_value, chain_hash, verify_rows
from .context import current_request
from .models import to_us

_TABLE = "audit_auditevent"
_COLUMNS = (*CHAIN_FIELDS, "prev_hash", "hash")
_INSERT = f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
_BUMP_HEAD = "UPDATE audit_chainhead SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash"
_SET_HEAD = "UPDATE audit_chainhead SET hash = %s WHERE id = 1"


@dataclass(frozen=True)
class Appended:
    seq: int
    event_id: str
    hash: str


def _ensure_head(cursor: Any) -> None:
    """Create the head row from the last event (after a fresh install or an emptied table)."""
    cursor.execute(f"SELECT seq, hash FROM {_TABLE} ORDER BY seq DESC LIMIT 1")
    last = cursor.fetchone()
    seq, head_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
    cursor.execute(
        "INSERT INTO audit_chainhead (id, seq, hash) VALUES (1, %s, %s) ON CONFLICT (id) DO NOTHING",
        [seq, head_hash],
    )


def _json_list(values: Iterable[Any] | None) -> str:
    return canonical_value(list(values or ()))


def audit_append(
    *,
    actor: Actor,
    action: str,
    resource_type: str = "",
    resource_ids: Iterable[str] | None = None,
    vault_id: str = "",
    table: str = "",
    columns: Iterable[str] | None = None,
    record_count: int | None = None,
    decision: str = "",
    policy_ids: Iterable[str] | None = None,
    http_status: int | None = None,
    details: dict[str, Any] | None = None,
) -> Appended:
    """Append one event to the chain, in the caller's transaction (or in its own, if none).

    ``details`` must never hold vault data: ids, names, counts and reasons only.
    """
    meta = current_request.get()
    event_id = str(uuid.uuid4())
    ts = to_us(datetime.now(UTC))
    with nullcontext() if connection.in_atomic_block else transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_BUMP_HEAD)
            row = cursor.fetchone()
            if row is None:
                _ensure_head(cursor)
                cursor.execute(_BUMP_HEAD)
                row = cursor.fetchone()
            seq, prev_hash = row
            values = (
                seq,
                event_id,
                ts,
                actor.type,
                str(actor.id)[:64],
                actor.display[:255],
                actor.auth_mode,
                action,
                resource_type,
                _json_list(resource_ids),
                str(vault_id or ""),
                table,
                _json_list(columns),
                record_count,
                decision,
                _json_list(policy_ids),
                meta.request_id,
                meta.ip,
                meta.user_agent,
                meta.method,
                meta.path,
                http_status,
                canonical_value(details or {}),
            )
            digest = chain_hash(prev_hash, values)
            cursor.execute(_SET_HEAD, [digest])
            cursor.execute(_INSERT, [*values, prev_hash, digest])
    return Appended(seq=seq, event_id=event_id, hash=digest)


_SELECT_PAGE = f"SELECT {', '.join(_COLUMNS)} FROM {_TABLE} WHERE seq > %s ORDER BY seq LIMIT %s"


def iter_chain_rows(after_seq: int = 0, page: int = 5000) -> Iterator[tuple[Any, ...]]:
    """Every event row in seq order, in keyset pages: constant memory on any table size."""
    last = after_seq
    while True:
        with connection.cursor() as cursor:
            cursor.execute(_SELECT_PAGE, [last, page])
            rows = cursor.fetchall()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]
        if len(rows) < page:
            return


def audit_verify() -> VerifyResult:
    """Re-verify the whole chain from the genesis hash; reports the first broken seq."""
    return verify_rows(iter_chain_rows())
