"""Database-level guards of the audit table: triggers that refuse UPDATE and DELETE (and keep the
chain head moving forward only); on PostgreSQL also the function that advances the chain head.

They are installed by a migration, on PostgreSQL and on SQLite. ``drop_append_only_triggers`` exists
for the test harness (a transactional test must empty the table between tests) and for the tamper
test; it needs the table owner's rights, which the application should not have in production.
"""

from __future__ import annotations

from typing import Any

TABLE = "audit_auditevent"
HEAD = "audit_chainhead"

_PG_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION vaultstudio_audit_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'audit events are append-only: % on {TABLE} refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""CREATE OR REPLACE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION vaultstudio_audit_refuse_change()""",
    f"""CREATE OR REPLACE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION vaultstudio_audit_refuse_change()""",
    # The head row may only move forward one append at a time (seq + 1, then the new hash), and
    # may not be deleted: cutting events off the end of the chain would otherwise go unnoticed.
    f"""
    CREATE OR REPLACE FUNCTION vaultstudio_audit_head_guard() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq OR NEW.seq > OLD.seq + 1 OR NEW.id <> OLD.id THEN
            RAISE EXCEPTION 'the audit chain head only moves forward: % on {HEAD} refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN COALESCE(NEW, OLD);
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""CREATE OR REPLACE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON {HEAD}
        FOR EACH ROW EXECUTE FUNCTION vaultstudio_audit_head_guard()""",
    f"""CREATE OR REPLACE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON {HEAD}
        FOR EACH STATEMENT EXECUTE FUNCTION vaultstudio_audit_refuse_change()""",
]
_PG_DROP = [
    f"DROP TRIGGER IF EXISTS audit_event_append_only ON {TABLE}",
    f"DROP TRIGGER IF EXISTS audit_event_no_truncate ON {TABLE}",
    f"DROP TRIGGER IF EXISTS audit_head_forward_only ON {HEAD}",
    f"DROP TRIGGER IF EXISTS audit_head_no_truncate ON {HEAD}",
]
_SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE on {TABLE} refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE on {TABLE} refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_head_forward_only BEFORE UPDATE ON {HEAD}
        WHEN NEW.seq < OLD.seq OR NEW.seq > OLD.seq + 1 OR NEW.id <> OLD.id
        BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward: UPDATE on {HEAD} refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON {HEAD}
        BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward: DELETE on {HEAD} refused'); END""",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
    "DROP TRIGGER IF EXISTS audit_head_forward_only",
    "DROP TRIGGER IF EXISTS audit_head_no_delete",
]


def _run(connection: Any, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install_append_only_triggers(connection: Any) -> None:
    if connection.vendor == "postgresql":
        _run(connection, _PG_INSTALL)
    elif connection.vendor == "sqlite":
        _run(connection, _SQLITE_INSTALL)
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"No append-only triggers for database vendor {connection.vendor!r}")


def drop_append_only_triggers(connection: Any) -> None:
    if connection.vendor == "postgresql":
        _run(connection, _PG_DROP)
    elif connection.vendor == "sqlite":
        _run(connection, _SQLITE_DROP)


# PostgreSQL: advance the chain head in the database, so that an append is one statement (one
# round trip, and in autocommit no separate COMMIT) instead of bump, hash in Python, write. The
# hash is exactly audit.chain.chain_hash: SHA-256 of prev_hash || canonical JSON of the event,
# whose text is "[" || seq || tail, where the caller's tail is "," and the canonical JSON of the
# other fields without its "[" (the caller encodes them; the database only splices in seq).
# Each statement in the function sees the head as left by the one before: the first takes the row
# lock, so concurrent appends queue there as they did on the separate bump.
_PG_ADVANCE = f"""
    CREATE OR REPLACE FUNCTION vaultstudio_audit_advance(tail text)
    RETURNS TABLE (out_seq bigint, out_prev text, out_hash text) AS $$
    DECLARE
        new_seq bigint;
        prev text;
        digest text;
    BEGIN
        UPDATE {HEAD} h SET seq = h.seq + 1 WHERE h.id = 1 RETURNING h.seq, h.hash INTO new_seq, prev;
        IF NOT FOUND THEN
            RETURN;  -- no head row yet: the caller creates it and appends again
        END IF;
        digest := encode(sha256(convert_to(prev || '[' || new_seq::text || tail, 'UTF8')), 'hex');
        UPDATE {HEAD} h SET hash = digest WHERE h.id = 1;
        RETURN QUERY SELECT new_seq, prev, digest;
    END;
    $$ LANGUAGE plpgsql VOLATILE
"""


def install_advance_function(connection: Any) -> None:
    if connection.vendor == "postgresql":
        _run(connection, [_PG_ADVANCE])


def drop_advance_function(connection: Any) -> None:
    if connection.vendor == "postgresql":
        _run(connection, ["DROP FUNCTION IF EXISTS vaultstudio_audit_advance(text)"])
