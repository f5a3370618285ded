"""Benchmark 1: token exchanges/s against a bare PyJWT RS256 verify plus one database read.

The baseline is the least any exchange must do: verify the assertion's RS256 signature and audience
with PyJWT (the public key already loaded) and read the key row with its account in one query.
Measured against it: (a) ``accounts.services.token_exchange`` itself and (b) the same through
``POST /v1/auth/sa/oauth/token`` with Django's test Client. Assertions are single-use, so each
exchange gets a fresh one, signed before the clock starts.

Where the replay store is the database (``accounts_usedassertion``, the embedded default), (a) is
timed once more, against the baseline again, with ``REMEMBERED`` unexpired assertions in that table:
every accepted assertion stays there until it expires (up to an hour), so this is the table of a
deployment doing that many exchanges an hour. The replay entries the run wrote are removed at the
end, from the table or from Redis.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench._common import Result, Sizes, cache_description, interleaved, progress

NAME = "token-exchange"
TARGET = 0.30
WARMUP = 5
# Unexpired assertions in the replay table for the "(a) with … remembered" line: an hour of
# exchanges at 25/s (the embedded cache this table replaced held 90% of 100,000 entries).
REMEMBERED = 90_000
FILL_CHUNK = 10_000


def run(sizes: Sizes, backend: str) -> list[Result]:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from django.core.cache import cache
    from django.test import Client

    from accounts import keys, replay, services
    from accounts.models import ServiceAccountKey
    from accounts.tokens import GRANT_TYPE
    from audit.actors import Actor

    actor = Actor.cli("bench")
    account = services.service_account_create(actor=actor, name=f"bench-{uuid.uuid4().hex[:8]}")
    key, credentials = services.service_account_key_generate(actor=actor, account=account, algorithm=keys.RS256)
    audience = services.token_uri()
    assert credentials["tokenURI"] == audience

    # Loading an RSA private key validates it (milliseconds); load once, sign many.
    signer = serialization.load_pem_private_key(credentials["privateKey"].encode(), password=None)

    def sign() -> str:
        now = int(time.time())
        claims = {
            "iss": credentials["clientID"],
            "sub": credentials["clientID"],
            "key": credentials["keyID"],
            "aud": audience,
            "iat": now,
            "exp": now + 3600,
            # RS256 signatures are deterministic: without a unique claim, two assertions signed in the
            # same second would be byte-identical and the second one refused as a replay.
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, signer, algorithm="RS256")

    # auto: the database table unless the cache is Redis (accounts.replay).
    in_table = not replay.uses_cache()
    per_subject = sizes.rounds * sizes.token_batch + WARMUP
    # With the replay table, the service subject runs a second series once the table is filled.
    service_count = per_subject + (sizes.rounds * sizes.token_batch if in_table else 0)
    progress(f"{backend}: signing {service_count + per_subject} assertions (outside the timed loops)")
    for_service = [sign() for _ in range(service_count)]
    http_assertions = [sign() for _ in range(per_subject)]
    for_http = [json.dumps({"grant_type": GRANT_TYPE, "assertion": a}) for a in http_assertions]

    public_key = keys.load_public_key(key.public_key)
    batch = sizes.token_batch
    # The baseline is stateless, so it may verify the same pre-signed assertions over and over.
    baseline_pool = for_service[: min(len(for_service), 500)]
    baseline_state = {"next": 0}

    def baseline() -> int:
        start = baseline_state["next"]
        for i in range(start, start + batch):
            assertion = baseline_pool[i % len(baseline_pool)]
            claims = jwt.decode(assertion, public_key, algorithms=["RS256"], audience=audience)
            ServiceAccountKey.objects.select_related("service_account").get(
                key_id=claims["key"], service_account__client_id=claims["iss"]
            )
        baseline_state["next"] = start + batch
        return batch

    service_queue = iter(for_service)

    def service() -> int:
        for _ in range(batch):
            services.token_exchange(body={"grant_type": GRANT_TYPE, "assertion": next(service_queue)}, ip="127.0.0.1")
        return batch

    client = Client()
    http_queue = iter(for_http)
    refused: list[str] = []

    def http() -> int:
        for _ in range(batch):
            response = client.post("/v1/auth/sa/oauth/token", data=next(http_queue), content_type="application/json")
            if response.status_code != 200:
                refused.append(f"{response.status_code} {response.content[:300]!r}")
        return batch

    # Warm every path (imports, the signing-key cache, prepared statements) before timing.
    for _ in range(WARMUP):
        services.token_exchange(body={"grant_type": GRANT_TYPE, "assertion": next(service_queue)}, ip="127.0.0.1")
        response = client.post("/v1/auth/sa/oauth/token", data=next(http_queue), content_type="application/json")
        if response.status_code != 200:
            raise RuntimeError(f"The token endpoint refused a fresh assertion: {response.content[:300]!r}")
    baseline()
    baseline_state["next"] = 0

    progress(f"{backend}: timing {sizes.rounds} rounds × {batch} exchanges per subject")
    used = [hashlib.sha256(a.encode()).hexdigest() for a in for_service + http_assertions]
    fillers: list[str] = []
    remembered: dict[str, list[float]] = {}
    try:
        rates = interleaved({"baseline": baseline, "service": service, "http": http}, sizes.rounds)
        if in_table:
            fillers = _fill_replay_table(REMEMBERED, backend)
            progress(f"{backend}: timing {sizes.rounds} more rounds with {_count_remembered():,} remembered assertions")
            remembered = interleaved({"baseline": baseline, "service": service}, sizes.rounds)
    finally:
        if in_table:
            removed, left = _forget(used + fillers)
            progress(f"{backend}: removed {removed:,} replay rows; {left:,} left in accounts_usedassertion")
        else:
            # Redis db 15 outlives this run (the databases do not): take our replay entries back out.
            replay_keys = [f"assertion:{digest}" for digest in used]
            cache.delete_many(replay_keys)
            progress(f"{backend}: removed the replay entries; {len(cache.get_many(replay_keys))} left in the cache")
    if refused:
        # A refused exchange did not do the work being measured; the numbers would be meaningless.
        raise RuntimeError(f"{len(refused)} HTTP token exchanges were refused, first: {refused[0]}")

    cache_name = cache_description()
    base_label = "(jwt.decode RS256 + 1 ORM read)"
    return [
        Result(
            bench=NAME,
            label="token exchange: service (a)",
            backend=backend,
            unit="exch/s",
            runs=rates["service"],
            baseline_label=base_label,
            baseline_runs=rates["baseline"],
            target_kind="ratio",
            target=TARGET,
            note="accounts.services.token_exchange; replay store: "
            + (
                "table accounts_usedassertion (INSERT … ON CONFLICT DO NOTHING in the grant transaction)"
                if in_table
                else f"cache.add (SET NX) on {cache_name}"
            ),
        ),
        Result(
            bench=NAME,
            label="token exchange: HTTP (b)",
            backend=backend,
            unit="exch/s",
            runs=rates["http"],
            baseline_label=base_label,
            baseline_runs=rates["baseline"],
            note="POST /v1/auth/sa/oauth/token via django.test.Client (full middleware stack); target applies "
            "to (a) only",
        ),
    ] + (
        [
            Result(
                bench=NAME,
                label=f"  (a) with {REMEMBERED // 1000}k remembered assertions",
                backend=backend,
                unit="exch/s",
                runs=remembered["service"],
                baseline_label=base_label,
                baseline_runs=remembered["baseline"],
                note=f"the same service call with {REMEMBERED:,} more unexpired rows in accounts_usedassertion "
                "(bulk-inserted before timing), as after an hour at that many exchanges/hour; timed in rounds "
                "of its own, interleaved with the baseline again (its baseline column is those rounds)",
            )
        ]
        if remembered
        else []
    )


def _count_remembered() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM accounts_usedassertion")
        return int(cursor.fetchone()[0])


def _fill_replay_table(count: int, backend: str) -> list[str]:
    """Bulk-insert ``count`` unexpired rows like the ones the product writes; returns their digests.

    Real entries are SHA-256 hex digests with an expiry within the next hour (plus the clock skew),
    so the fillers are too: the primary-key index and the expires_at index get the same shape.
    """
    from django.db import connection, transaction

    from accounts.models import UsedAssertion

    progress(f"{backend}: inserting {count:,} unexpired rows into accounts_usedassertion (not timed)")
    field = UsedAssertion._meta.get_field("expires_at")
    now = datetime.now(UTC)
    salt = uuid.uuid4().hex
    digests = [hashlib.sha256(f"bench-filler-{salt}-{i}".encode()).hexdigest() for i in range(count)]
    rows = [
        (digest, field.get_db_prep_value(now + timedelta(seconds=120 + i * 3600 // count), connection))
        for i, digest in enumerate(digests)
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), FILL_CHUNK):
            cursor.executemany(
                "INSERT INTO accounts_usedassertion (digest, expires_at) VALUES (%s, %s)",
                rows[start : start + FILL_CHUNK],
            )
    return digests


def _forget(digests: list[str]) -> tuple[int, int]:
    """Delete these replay rows (the run's own and the fillers); returns (deleted, rows left)."""
    from django.db import connection, transaction

    deleted = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(digests), 500):
            chunk = digests[start : start + 500]
            cursor.execute(
                f"DELETE FROM accounts_usedassertion WHERE digest IN ({', '.join(['%s'] * len(chunk))})", chunk
            )
            deleted += cursor.rowcount
    return deleted, _count_remembered()
