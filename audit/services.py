"""Writing and verifying the audit chain.

``audit_append`` is called by every service that changes something, inside the transaction of
that change: if the append fails, the change rolls back with it (fail closed). Appends are
serialized on the single ``audit_chainhead`` row (a row lock on PostgreSQL; SQLite transactions
here are IMMEDIATE, so they already hold the database's write lock), so the chain never forks and
``seq`` has no gaps. The writer uses raw SQL: it is on every request's path (DESIGN.md §16).
"""

from __future__ import annotations

import logging
import os
import select
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from django.core.cache import cache
from django.db import connection, transaction
from psycopg import pq

from .actors import Actor
from .chain import (
    CHAIN_FIELDS,
    GENESIS_HASH,
    VerifyResult,
    canonical_json,
    canonical_value,
    chain_hash,
    verify_links,
)
from .context import current_request
from .models import to_us

logger = logging.getLogger(__name__)

_TABLE = "audit_auditevent"
_COLUMNS = (*CHAIN_FIELDS, "prev_hash", "hash")
_INSERT = f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
_BUMP_HEAD = "UPDATE audit_chainhead SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash"
_SET_HEAD = "UPDATE audit_chainhead SET hash = %s WHERE id = 1"
# PostgreSQL: one statement (audit.db's vaultstudio_audit_advance bumps the head and hashes; a
# CTE with a volatile function runs once). Integers are cast: in INSERT … SELECT a bare NULL is
# text. Text stays text, never varchar(n): a cast would truncate a value the hash covers whole.
# SQLite, in process, has no round trips to save.
_INTEGER_FIELDS = {"ts": "bigint", "record_count": "integer", "http_status": "integer"}
_ADVANCE_AND_INSERT = (
    "WITH head AS (SELECT * FROM vaultstudio_audit_advance(%s)) "
    f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) SELECT head.out_seq, "
    + ", ".join(f"%s::{_INTEGER_FIELDS.get(name, 'text')}" for name in CHAIN_FIELDS[1:])
    + ", head.out_prev, head.out_hash FROM head RETURNING seq, hash"
)


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


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; an actor name or a path carrying one must not make the
    # append (and so the request) fail, nor differ between the two databases.
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


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
    return append_fields(
        event_fields(
            actor=actor,
            action=action,
            resource_type=resource_type,
            resource_ids=resource_ids,
            vault_id=vault_id,
            table=table,
            columns=columns,
            record_count=record_count,
            decision=decision,
            policy_ids=policy_ids,
            http_status=http_status,
            details=details,
        )
    )


def event_fields(
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
) -> tuple[Any, ...]:
    """Every field of an event but seq (which the head gives), as stored and hashed: what
    ``append_fields`` and ``appending`` take. ``details`` must never hold vault data."""
    meta = current_request.get()
    return (
        str(uuid.uuid4()),
        to_us(datetime.now(UTC)),
        actor.type,
        _text(str(actor.id))[:64],
        _text(actor.display)[:255],
        actor.auth_mode,
        action,
        resource_type,
        _json_list(resource_ids),
        str(vault_id or ""),
        _text(table),
        _json_list(columns),
        record_count,
        decision,
        _json_list(policy_ids),
        meta.request_id,
        meta.ip,
        _text(meta.user_agent),
        meta.method,
        _text(meta.path),
        http_status,
        canonical_value(details or {}),
    )


def append_fields(rest: tuple[Any, ...]) -> Appended:
    """Append an event built by ``event_fields`` (``audit_append`` does both)."""
    event_id = rest[0]
    if connection.vendor == "postgresql":
        # One statement, atomic on its own: no transaction of its own is needed around it.
        with connection.cursor() as cursor:
            tail = "," + canonical_json(rest)[1:]
            cursor.execute(_ADVANCE_AND_INSERT, [tail, *rest])
            row = cursor.fetchone()
            if row is None:
                _ensure_head(cursor)
                cursor.execute(_ADVANCE_AND_INSERT, [tail, *rest])
                row = cursor.fetchone()
        seq, digest = row
        return Appended(seq=seq, event_id=event_id, hash=digest)
    with nullcontext() if connection.in_atomic_block else transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_BUMP_HEAD)
            row = cursor.fetchone()
            if row is None:
                _ensure_head(cursor)
                cursor.execute(_BUMP_HEAD)
                row = cursor.fetchone()
            seq, prev_hash = row
            values = (seq, *rest)
            digest = chain_hash(prev_hash, values)
            cursor.execute(_SET_HEAD, [digest])
            cursor.execute(_INSERT, [*values, prev_hash, digest])
    return Appended(seq=seq, event_id=event_id, hash=digest)


# --- refusals: their events must outlive the rollback of what they refused ------------------------------


def append_refusal(error: Exception, rest: tuple[Any, ...]) -> None:
    """Append a refusal's event (built by ``event_fields``) so that it stays on record.

    Outside a transaction it is appended at once. Inside one — which the refusal is about to roll
    back, taking any event appended in it along (a batch's all-or-nothing transaction, an upsert) —
    it travels on ``error`` and ``append_deferred`` writes it once that transaction is over: the API's
    exception handler does, and so does any caller that catches such an error past the rollback to
    go on (a batch with continueOnError).
    """
    if connection.in_atomic_block:
        deferred: list[tuple[Any, ...]] = error.__dict__.setdefault("deferred_audit", [])
        deferred.append(rest)
    else:
        append_fields(rest)


def append_deferred(error: BaseException) -> None:
    """Append the events ``error`` (or an error it was raised from) carried out of a rolled-back
    transaction, once; the caller is past that rollback (in autocommit, or in an outer transaction
    that goes on to commit)."""
    cause: BaseException | None = error
    while cause is not None:  # an error raised from a refusal carries the refusal's events too
        deferred = cause.__dict__.get("deferred_audit")
        while deferred:
            append_fields(deferred.pop(0))
        cause = cause.__cause__


# --- an append that overlaps the caller's work (PostgreSQL, outside a transaction) ---------------------

# The same statement in libpq's numbered form, with every parameter sent as text (the casts type them).
_ADVANCE_AND_INSERT_PQ = _ADVANCE_AND_INSERT
for _n in range(1, len(CHAIN_FIELDS) + 1):
    _ADVANCE_AND_INSERT_PQ = _ADVANCE_AND_INSERT_PQ.replace("%s", f"${_n}", 1)
_ADVANCE_AND_INSERT_PQ_BYTES = _ADVANCE_AND_INSERT_PQ.encode()


def _wait(fd: int, event: int) -> None:
    """Block until the socket is ready (poll, not select: a busy process may hold fds past 1024)."""
    poller = select.poll()
    poller.register(fd, event)
    poller.poll()


def _pq_text(value: Any) -> bytes | None:
    return None if value is None else str(value).encode()


class Appending:
    """An event on its way into the chain; ``appended`` once the block of ``appending`` has left."""

    def __init__(self, rest: tuple[Any, ...]) -> None:
        self.rest = rest
        self.appended: Appended | None = None
        self._pgconn: Any = None

    def _send(self) -> bool:
        """Send the append without waiting for it, if this connection can: PostgreSQL, in autocommit
        and idle (a statement sent in a transaction would only be as durable as that transaction's
        end, which the caller decides later)."""
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return False
        connection.ensure_connection()
        pgconn = connection.connection.pgconn
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        tail = "," + canonical_json(self.rest)[1:]
        with connection.wrap_database_errors:
            pgconn.send_query_params(_ADVANCE_AND_INSERT_PQ_BYTES, [_pq_text(v) for v in (tail, *self.rest)])
            while pgconn.flush():  # the socket's buffer was full: wait until it can take the rest
                _wait(pgconn.socket, select.POLLOUT)
        self._pgconn = pgconn
        return True

    def _receive(self) -> None:
        """Wait for the append sent by ``_send`` and read every result, so the connection is idle
        again whatever happened; then raise its error, if it failed."""
        pgconn, self._pgconn = self._pgconn, None
        results = []
        with connection.wrap_database_errors:
            while True:
                pgconn.consume_input()
                if pgconn.is_busy():
                    _wait(pgconn.socket, select.POLLIN)
                    continue
                result = pgconn.get_result()
                if result is None:
                    break
                results.append(result)
            for result in results:
                if result.status == pq.ExecStatus.FATAL_ERROR:
                    raise psycopg.errors.error_from_result(result, encoding="utf-8")
        rows = [r for r in results if r.status == pq.ExecStatus.TUPLES_OK and r.ntuples]
        if not rows:
            # No head row yet (a fresh install or an emptied table): the ordinary path creates it.
            self.appended = append_fields(self.rest)
            return
        seq, digest = rows[0].get_value(0, 0), rows[0].get_value(0, 1)
        self.appended = Appended(seq=int(seq), event_id=self.rest[0], hash=digest.decode())


@contextmanager
def appending(rest: tuple[Any, ...]) -> Iterator[Appending]:
    """Append the event ``rest`` (from ``event_fields``) while the block runs.

    On PostgreSQL outside a transaction the statement is sent at once and awaited when the block is
    left, so its server time and its commit's WAL flush overlap the block's own work (a data-plane
    read decrypting its page); elsewhere the event is appended at once, as ``audit_append`` does.
    Either way it is durable before the block is left without an error: a caller answers with data
    only after that (fail closed). If the append failed, leaving the block raises its error; if the
    block raised, the append is still awaited first (nothing else may use the connection while a
    statement is in flight), then the block's exception goes on. The block must not use the
    database connection.
    """
    handle = Appending(rest)
    if not handle._send():
        handle.appended = append_fields(rest)
        yield handle
        return
    try:
        yield handle
    except BaseException:
        try:
            handle._receive()
        except Exception:  # the block's own error is the one to report; the append's is logged
            logger.exception("audit append failed while the caller was failing too")
        raise
    handle._receive()


_SELECT_ROW = f"SELECT {', '.join(CHAIN_FIELDS)} FROM {_TABLE} WHERE seq = %s"
# The database builds the canonical JSON (see _page); audit.chain.verify_links re-checks any
# mismatch with our own encoder.
_SELECT_RANGE_SQLITE = (
    f"SELECT seq, json_array({', '.join(CHAIN_FIELDS)}), prev_hash, hash FROM {_TABLE} "
    "WHERE seq > %s AND seq <= %s ORDER BY seq"
)
# PostgreSQL's to_json escapes text exactly as our encoder does (quote, backslash, \\b \\f \\n \\r \\t,
# other controls as lowercase \\u00XX, the rest as is); see _prefetched for why it builds the text.
_INTEGERS = ("seq", "ts", "record_count", "http_status")
_SELECT_RANGE_PG = (
    "SELECT seq, '[' || "
    + " || ',' || ".join(
        f"COALESCE({name}::text, 'null')" if name in _INTEGERS else f"COALESCE(to_json({name})::text, 'null')"
        for name in CHAIN_FIELDS
    )
    + f" || ']', prev_hash, hash FROM {_TABLE} WHERE seq > %s AND seq <= %s ORDER BY seq"
)
_SELECT_HEAD = "SELECT seq, hash FROM audit_chainhead WHERE id = 1"
_SELECT_MAX = f"SELECT MAX(seq) FROM {_TABLE}"


def _seq_ranges(after_seq: int, upto: int | None, page: int) -> Iterator[tuple[int, int]]:
    # seq has no gaps, so a seq range bounds each page without relying on the planner (a LIMIT
    # with ORDER BY on a table without statistics sorts every remaining row, page after page).
    if upto is None:
        with connection.cursor() as cursor:
            cursor.execute(_SELECT_MAX)
            upto = cursor.fetchone()[0] or 0
    low = after_seq
    while low < upto:
        high = min(low + page, upto)
        yield low, high
        low = high


def _page(low: int, high: int) -> list[tuple[int, str, str, str]]:
    """One page of links ``(seq, canonical JSON, prev_hash, hash)`` on the calling thread's connection.

    The database builds the canonical text (SQLite's ``json_array``; PostgreSQL's ``to_json`` per
    field), and ``verify_links`` re-checks any mismatch with our own encoder, which stays the
    authority. On PostgreSQL that text is the server's work, in its own process per connection, which
    is what lets ``_prefetched`` read with several connections at once.
    """
    query = _SELECT_RANGE_SQLITE if connection.vendor == "sqlite" else _SELECT_RANGE_PG
    with connection.cursor() as cursor:
        cursor.execute(query, [low, high])
        return cursor.fetchall()


def _pages(upto: int | None, page: int) -> Iterator[list[tuple[int, str, str, str]]]:
    """Every page of links up to ``upto``, in order, on the calling thread's connection."""
    for low, high in _seq_ranges(0, upto, page):
        yield _page(low, high)


# Readers of a PostgreSQL verification: each keeps one server process busy building text.
_READERS = max(2, min(4, os.cpu_count() or 2))


def _prefetched(upto: int | None, page: int, readers: int = _READERS) -> Iterator[tuple[int, str, str, str]]:
    """PostgreSQL, committed data: the links, read by ``readers`` threads on connections of their own
    while the caller hashes, and handed over in seq order.

    The database builds each row's canonical text (``_page``), so a page's cost is the server's, in
    its own process per connection: readers run side by side and this process only hashes (sending
    the 25 columns instead left their conversion and encoding to this process, under one GIL: 88k
    against 134k events/s with two readers on 2 CPUs, 2026-12-05). At most ``2 × readers`` pages
    wait in memory. The stop event ends the readers when the caller stops
    early (at the first broken seq).
    """
    ranges = list(_seq_ranges(0, upto, page))
    ready: dict[int, list[tuple[int, str, str, str]]] = {}
    failed: list[BaseException] = []
    taken = [0]  # pages handed to the caller so far
    changed = threading.Condition()
    stop = threading.Event()

    def read(first: int) -> None:
        try:
            for index in range(first, len(ranges), readers):
                with changed:
                    while not stop.is_set() and index >= taken[0] + 2 * readers:
                        changed.wait(0.1)
                if stop.is_set():
                    return
                rows = _page(*ranges[index])
                with changed:
                    ready[index] = rows
                    changed.notify_all()
        except BaseException as exc:  # handed to the caller, raised there
            with changed:
                failed.append(exc)
                changed.notify_all()
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=read, args=(k,), name=f"audit-verify-reader-{k}", daemon=True)
        for k in range(min(readers, len(ranges)))
    ]
    for thread in threads:
        thread.start()
    try:
        for index in range(len(ranges)):
            with changed:
                while index not in ready and not failed:
                    changed.wait(0.1)
                if index not in ready:
                    raise failed[0]
                rows = ready.pop(index)
                taken[0] = index + 1
                changed.notify_all()
            yield from rows
    finally:
        stop.set()
        with changed:
            changed.notify_all()
        for thread in threads:
            thread.join()


def _iter_links(upto: int | None, page: int = 5000) -> Iterator[tuple[int, str, str, str]]:
    if connection.in_atomic_block or connection.vendor == "sqlite":
        # Inside a transaction only this connection sees its own uncommitted rows; and on SQLite
        # reading is in-process Python work too, which other threads would only contend with.
        for rows in _pages(upto, page):
            yield from rows
    else:
        yield from _prefetched(upto, page)


def _row_values(seq: int) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(_SELECT_ROW, [seq])
        row = cursor.fetchone()
    return tuple(row) if row else ()


def _chain_head() -> tuple[int, str] | None:
    with connection.cursor() as cursor:
        cursor.execute(_SELECT_HEAD)
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def audit_verify() -> VerifyResult:
    """Re-verify the whole chain from the genesis hash; reports the first broken seq.

    The head is read first and the rows up to its seq are checked against it: every append commits
    its row with the head update, so all those rows are visible, appends made meanwhile are left for
    the next check, and events cut off the end (or a rewritten last event) are caught. Without a
    head row (a table emptied by the test harness) the rows alone are checked.
    """
    head = _chain_head()
    return verify_links(_iter_links(upto=head[0] if head else None), head=head, reencode=_row_values)


def audit_export_begin(*, actor: Actor, export_format: str, filters: dict[str, str], after: int = 0) -> int:
    """Record an export (``audit.export``) before its first byte is sent; returns the seq it ends at.

    The export then streams the matching events up to and including this one, so what a SIEM
    received is pinned even while new events keep arriving.
    """
    # Its own transaction (a savepoint inside a caller's): the event is committed before any data
    # leaves, and a failure to write it undoes nothing else.
    with transaction.atomic():
        appended = audit_append(
            actor=actor,
            action="audit.export",
            resource_type="AUDIT",
            details={"format": export_format, "filters": filters, "after": after},
        )
    return appended.seq


# --- checking the chain, as an auditor asks and as the periodic job does --------------------------

CHAIN_BROKEN_CACHE_KEY = "audit-chain-broken"
VERIFIER = "audit-verifier"


def verify_result_dict(result: VerifyResult) -> dict[str, Any]:
    """``{"valid", "checked", "first_bad_seq", "reason"}``: the API's and the task's answer."""
    return asdict(result)


def _raise_chain_alert(result: VerifyResult) -> None:
    """Record a break (``audit.chain.broken``) and flag it in the shared cache for the studio."""
    report = verify_result_dict(result)
    logger.error("Audit chain broken at seq %s: %s", result.first_bad_seq, result.reason)
    audit_append(
        actor=Actor.system(VERIFIER),
        action="audit.chain.broken",
        resource_type="AUDIT",
        http_status=None,
        details={"first_bad_seq": result.first_bad_seq, "reason": result.reason, "checked": result.checked},
    )
    cache.set(CHAIN_BROKEN_CACHE_KEY, report, timeout=None)


def audit_chain_verify(*, actor: Actor) -> VerifyResult:
    """Re-verify the chain for ``actor`` and record the check (``audit.verify``, with the result).

    The check runs outside any transaction: appends go on meanwhile and are not blocked by it. A
    break also raises the alert, as the periodic job would; a clean result clears it.
    """
    result = audit_verify()
    with transaction.atomic():
        audit_append(actor=actor, action="audit.verify", resource_type="AUDIT", details=verify_result_dict(result))
        if not result.valid:
            _raise_chain_alert(result)
    if result.valid:
        cache.delete(CHAIN_BROKEN_CACHE_KEY)  # as the periodic check does: the alert ends when the chain verifies
    return result


def audit_chain_watch() -> dict[str, Any]:
    """The periodic check: on a break, append ``audit.chain.broken`` (by the system actor
    ``audit-verifier``) and set the ``audit-chain-broken`` cache flag to the result; when the chain
    verifies, clear the flag. Returns the result dict.

    A chain that stays broken is reported again at every run, like any monitor that keeps alerting.
    """
    result = audit_verify()
    if result.valid:
        cache.delete(CHAIN_BROKEN_CACHE_KEY)
    else:
        with transaction.atomic():
            _raise_chain_alert(result)
    return verify_result_dict(result)
