"""The audit hash chain as pure functions: canonical JSON of an event and the chained hash.

``hash = SHA-256(prev_hash || canonical_json(event))``, where the canonical JSON is the compact
JSON array of the event's fields in ``CHAIN_FIELDS`` order. Values are only strings, integers and
nulls: JSON-valued fields are stored (and hashed) as their own canonical JSON text, so the same
bytes come back from SQLite and PostgreSQL and verification needs no re-parsing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64

# The order is part of the format: changing it breaks every existing chain.
CHAIN_FIELDS: tuple[str, ...] = (
    "seq",
    "event_id",
    "ts",
    "actor_type",
    "actor_id",
    "actor_display",
    "auth_mode",
    "action",
    "resource_type",
    "resource_ids",
    "vault_id",
    "table_name",
    "columns",
    "record_count",
    "decision",
    "policy_ids",
    "request_id",
    "ip",
    "user_agent",
    "http_method",
    "http_path",
    "http_status",
    "details",
)

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, check_circular=False)


def _make_encode() -> Callable[[Any], str]:
    """``_ENCODER.encode`` without rebuilding the C encoder on every call (a third of verify's time).

    Same arguments as ``JSONEncoder.iterencode`` passes to ``c_make_encoder``; byte-identical output
    (tests compare the two). Falls back to the pure-Python encoder where the C one is missing.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the C accelerator
        return _ENCODER.encode
    c_encode = make(None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", True, False, True)

    def encode(value: Any) -> str:
        return "".join(c_encode(value, 0))

    return encode


_encode = _make_encode()


def canonical_value(value: Any) -> str:
    """Canonical JSON text of a JSON-valued field (sorted keys, compact, UTF-8)."""
    return _encode(value)


def canonical_json(values: Sequence[Any]) -> str:
    """Canonical JSON of one event, given its values in CHAIN_FIELDS order."""
    return _encode(tuple(values))


def chain_hash(prev_hash: str, values: Sequence[Any]) -> str:
    return hashlib.sha256((prev_hash + _encode(tuple(values))).encode()).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    valid: bool
    checked: int
    first_bad_seq: int | None
    reason: str


def verify_rows(
    rows: Iterable[Sequence[Any]],
    prev_hash: str = GENESIS_HASH,
    prev_seq: int = 0,
    head: tuple[int, str] | None = None,
) -> VerifyResult:
    """Check a stream of rows ``(*CHAIN_FIELDS values, prev_hash, hash)`` ordered by seq."""
    n = len(CHAIN_FIELDS)
    return verify_links(((row[0], _encode(row[:n]), row[n], row[n + 1]) for row in rows), prev_hash, prev_seq, head)


def verify_links(
    links: Iterable[tuple[int, str, str, str]],
    prev_hash: str = GENESIS_HASH,
    prev_seq: int = 0,
    head: tuple[int, str] | None = None,
    reencode: Callable[[int], Sequence[Any]] | None = None,
) -> VerifyResult:
    """Check a stream of ``(seq, canonical JSON, prev_hash, hash)`` ordered by seq.

    Reports the first seq whose stored link or hash does not match what its content implies, or
    that leaves a gap after the previous seq. With ``head`` (the chain head's ``(seq, hash)``, read
    before the rows), the last row must also be that seq with that hash: otherwise events were cut
    off the end, or the last one was rewritten together with its hash, and no link shows it.

    The canonical JSON may come from the database (SQLite's ``json_array``, which is faster); our
    encoder stays the authority: on a mismatch, ``reencode(seq)`` gives the row's field values and
    only if their canonical JSON mismatches too is the row reported.
    """
    checked = 0
    sha256 = hashlib.sha256
    for seq, canonical, stored_prev, stored in links:
        if seq != prev_seq + 1:
            return VerifyResult(False, checked, prev_seq + 1, f"seq {prev_seq + 1} is missing")
        if stored_prev != prev_hash:
            return VerifyResult(False, checked, seq, f"seq {seq}: prev_hash does not match the hash of seq {prev_seq}")
        expected = sha256((prev_hash + canonical).encode()).hexdigest()
        if expected != stored and reencode is not None:
            values = reencode(seq)
            if values and values[0] == seq:
                expected = sha256((prev_hash + _encode(tuple(values))).encode()).hexdigest()
        if expected != stored:
            return VerifyResult(False, checked, seq, f"seq {seq}: content does not match its hash")
        prev_hash = expected
        prev_seq = seq
        checked += 1
    if head is not None:
        head_seq, head_hash = head
        if prev_seq < head_seq:
            return VerifyResult(
                False, checked, prev_seq + 1, f"seq {prev_seq + 1} is missing: the chain head records {head_seq} events"
            )
        if prev_seq > head_seq:
            return VerifyResult(
                False, checked, head_seq + 1, f"seq {head_seq + 1} is beyond the chain head (seq {head_seq})"
            )
        if prev_seq and prev_hash != head_hash:
            return VerifyResult(
                False, checked - 1, prev_seq, f"seq {prev_seq}: its hash does not match the chain head's hash"
            )
    return VerifyResult(True, checked, None, "")
