"""Benchmark 3: audit chain verification, events/s, against a target of 100,000 events/s.

The chain is first extended by ``chain_events`` events through a bulk path (hashes computed with
``audit.chain.chain_hash``, rows written with one executemany on SQLite or COPY on PostgreSQL, head
moved once, past its guard trigger): appending them one by one would only re-measure benchmark 2.
Then, on the same data: ``audit_verify()`` end to end, then its two halves apart — the DB read of
the verifier's pages alone, and checking those pages once they are in memory — and the bare
SHA-256 chain over the same canonical JSON, the reference for what hashing alone costs per event.

A page row is ``(seq, canonical JSON, prev_hash, hash)``, the text built by the database (SQLite's
``json_array``, PostgreSQL's ``to_json`` per field). ``audit_verify()`` on SQLite reads its pages on
the calling thread; on PostgreSQL, outside a transaction, reader threads on connections of their
own (two on 2 CPUs, up to four) read pages of 5,000 seqs while the calling thread hashes the ones
already read. The two halves are timed with the private helper ``audit.services._pages`` that
``audit_verify`` uses, one after the other on one thread, so their rates show what bounds the whole.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from typing import Any

from bench._common import Result, Sizes, peak_rss_mib, progress, timed_once

NAME = "chain-verify"
TARGET = 100_000.0
CHUNK = 10_000

_ACTIONS = (
    ("record.read", "RECORD", "ALLOW", 200),
    ("record.insert", "RECORD", "ALLOW", 200),
    ("record.detokenize", "TOKEN", "ALLOW", 200),
    ("record.read", "RECORD", "DENY", 403),
    ("auth.token.grant", "SERVICE_ACCOUNT", "ALLOW", 200),
)


def _events(first_seq: int, count: int) -> Iterator[tuple[Any, ...]]:
    """Plausible event values in CHAIN_FIELDS order, about the size of a real data-plane event."""
    from audit.chain import canonical_value

    rng = random.Random(first_seq)
    actors = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(20)]
    vaults = [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(4)]
    records = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(2000)]
    policy = canonical_value([str(uuid.UUID(int=rng.getrandbits(128)))])
    ts = 1_790_000_000_000_000
    for seq in range(first_seq, first_seq + count):
        action, resource_type, decision, status = _ACTIONS[seq % len(_ACTIONS)]
        ids = rng.sample(records, 1 + seq % 3)
        vault = vaults[seq % len(vaults)]
        ts += 1 + rng.randrange(2000)
        yield (
            seq,
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            ts,
            "SERVICE_ACCOUNT",
            actors[seq % 20],
            f"service-account-{seq % 20}",
            "SERVICE_ACCOUNT_JWT",
            action,
            resource_type,
            canonical_value(ids),
            vault,
            "customers",
            canonical_value(["name", "email", "ssn"][: 1 + seq % 3]),
            len(ids),
            decision,
            policy,
            str(uuid.UUID(int=rng.getrandbits(128))),
            f"10.0.{seq % 250}.{seq % 200}",
            "skyflow-python/2.1.3",
            "GET",
            f"/v1/vaults/{vault}/customers",
            status,
            canonical_value({"redacted": ["ssn"]} if seq % 2 else {}),
        )


def seed(count: int) -> int:
    """Extend the chain by ``count`` valid events in one transaction; returns the new head seq."""
    from django.db import connection, transaction

    from audit.chain import CHAIN_FIELDS, chain_hash
    from audit.db import drop_append_only_triggers, install_append_only_triggers

    columns = (*CHAIN_FIELDS, "prev_hash", "hash")
    insert_sql = f"INSERT INTO audit_auditevent ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, hash FROM audit_chainhead WHERE id = 1{lock}")
        head_seq, head_hash = cursor.fetchone()
        events = _events(head_seq + 1, count)
        written = 0
        while written < count:
            rows = []
            for values in (next(events) for _ in range(min(CHUNK, count - written))):
                digest = chain_hash(head_hash, values)
                rows.append((*values, head_hash, digest))
                head_hash = digest
            if connection.vendor == "postgresql":
                # COPY is PostgreSQL's bulk path; executemany would still round-trip per row.
                with cursor.cursor.copy(f"COPY audit_auditevent ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(insert_sql, rows)
            written += len(rows)
        head_seq += count
        # The head's guard trigger lets it move one append at a time only. Seeding moves it by
        # ``count`` at once, so the guards are lifted for this one statement, inside this
        # transaction (no other session ever sees the table unguarded), and put back.
        drop_append_only_triggers(connection)
        cursor.execute("UPDATE audit_chainhead SET seq = %s, hash = %s WHERE id = 1", [head_seq, head_hash])
        install_append_only_triggers(connection)
    if connection.vendor == "postgresql":
        # A table that grows by appends gets analyzed by autovacuum as it goes; give the bulk-loaded
        # one its statistics too, so the run sees the plans a live deployment gets. (The verifier's
        # seq-range pages no longer depend on them: see docs/benchmarks.md, "Findings".)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_auditevent")
    return head_seq


def run(sizes: Sizes, backend: str) -> list[Result]:

    from audit.actors import Actor
    from audit.chain import GENESIS_HASH, verify_links
    from audit.models import AuditEvent
    from audit.services import _READERS, _chain_head, _pages, audit_append, audit_verify

    # Make sure the head row reflects whatever is already in the table before seeding after it.
    audit_append(actor=Actor.cli("bench"), action="bench.chain_verify.start")
    progress(f"{backend}: seeding {sizes.chain_events:,} chained events")
    seconds, head = timed_once(lambda: seed(sizes.chain_events))
    progress(f"{backend}: seeded in {seconds:.1f} s; verifying {head:,} events × {sizes.verify_rounds} rounds")
    total = AuditEvent.objects.count()
    if total != head:
        raise RuntimeError(f"Seeding left {total} rows but the chain head says {head}.")

    full: list[float] = []
    for _ in range(sizes.verify_rounds):
        seconds, result = timed_once(audit_verify)
        if not (result.valid and result.checked == total):
            raise RuntimeError(f"audit_verify() on the seeded chain: {result}")
        full.append(total / seconds)
    # Taken before the rows are loaded into memory below: audit_verify pages, so this is its footprint.
    rss_after_verify = peak_rss_mib()

    # The verifier's pages (what its reader thread fetches), read here on this thread alone.
    read: list[float] = []
    pages: list[list[tuple[Any, ...]]] = []
    for _ in range(sizes.verify_rounds):
        del pages[:]  # drop the previous copy first, or two copies of the chain sit in memory at once
        seconds, pages = timed_once(lambda: list(_pages(head, 5000)))
        read.append(sum(len(p) for p in pages) / seconds)

    # The other half: what the calling thread does with each page (hash and compare).
    chain_head = _chain_head()

    def check() -> Any:
        return verify_links((link for rows in pages for link in rows), head=chain_head)

    in_memory: list[float] = []
    for _ in range(sizes.verify_rounds):
        seconds, result = timed_once(check)
        if not (result.valid and result.checked == total):
            raise RuntimeError(f"verify_links on the seeded chain's pages: {result}")
        in_memory.append(total / seconds)

    payloads = [link[1] for rows in pages for link in rows]
    mean_bytes = sum(len(p.encode()) for p in payloads) / len(payloads)
    pages.clear()  # the rows are no longer needed; only the payloads are hashed below

    def sha_chain() -> str:
        sha256 = hashlib.sha256
        digest = GENESIS_HASH
        for payload in payloads:
            digest = sha256((digest + payload).encode()).hexdigest()
        return digest

    pure: list[float] = []
    for _ in range(sizes.verify_rounds):
        seconds, _digest = timed_once(sha_chain)
        pure.append(len(payloads) / seconds)

    base_label = f"(bare SHA-256 chain, {mean_bytes:.0f} B/event)"
    return [
        Result(
            bench=NAME,
            label="chain verify: audit_verify()",
            backend=backend,
            unit="ev/s",
            runs=full,
            baseline_label=base_label,
            baseline_runs=pure,
            paired=False,
            target_kind="rate",
            target=TARGET,
            note=f"{total:,} events end to end: pages of 5,000 seqs "
            + ("read on the calling thread" if backend == "sqlite" else f"read by {_READERS} reader connections")
            + f" while this thread hashes; peak RSS by then {rss_after_verify:,.0f} MiB",
        ),
        Result(
            bench=NAME,
            label="  DB read only (verifier's pages)",
            backend=backend,
            unit="ev/s",
            runs=read,
            baseline_label=base_label,
            baseline_runs=pure,
            paired=False,
            note="audit.services._pages on one thread, no hashing: seq-range pages of 5,000, seq + "
            + ("json_array(23 fields)" if backend == "sqlite" else "23 fields to_json'd and joined")
            + " + 2 hashes per row",
        ),
        Result(
            bench=NAME,
            label="  check pages in memory",
            backend=backend,
            unit="ev/s",
            runs=in_memory,
            baseline_label=base_label,
            baseline_runs=pure,
            paired=False,
            note="verify_links over the pages already read, no I/O: SHA-256 + link checks "
            "(the canonical JSON came from the database)",
        ),
    ]
