"""Benchmark 1: token exchanges/s against a bare PyJWT RS256 verify plus one database read.

The baseline is the least any exchange must do: verify the assertion's RS256 signature and audience
with PyJWT (the public key already loaded) and read the key row with its account in one query.
Measured against it: (a) ``accounts.services.token_exchange`` itself and (b) the same through
``POST /v1/auth/sa/oauth/token`` with Django's test Client. Assertions are single-use, so each
exchange gets a fresh one, signed before the clock starts.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

from bench._common import Result, Sizes, cache_description, interleaved, progress

NAME = "token-exchange"
TARGET = 0.30
WARMUP = 5
FILL_FRACTION = 0.9


def run(sizes: Sizes, backend: str) -> list[Result]:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from django.core.cache import cache, caches
    from django.core.cache.backends.db import DatabaseCache
    from django.test import Client

    from accounts import keys, services
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

    per_subject = sizes.rounds * sizes.token_batch + WARMUP
    # On the database cache the service subject runs a second series, with the cache table full.
    service_count = per_subject + (
        sizes.rounds * sizes.token_batch if isinstance(caches["default"], DatabaseCache) else 0
    )
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
    steady: list[float] = []
    try:
        rates = interleaved({"baseline": baseline, "service": service, "http": http}, sizes.rounds)
        if isinstance(caches["default"], DatabaseCache):
            steady = _with_full_replay_cache(service, sizes.rounds, backend)
    finally:
        if not isinstance(caches["default"], DatabaseCache):
            # Redis db 15 outlives this run (the databases do not): take our replay entries back out.
            digests = [hashlib.sha256(a.encode()).hexdigest() for a in for_service + http_assertions]
            cache.delete_many([f"assertion:{digest}" for digest in digests])
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
            note=f"accounts.services.token_exchange; replay cache: {cache_name}",
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
                label="  (a) with the replay cache 90% full",
                backend=backend,
                unit="exch/s",
                runs=steady,
                baseline_label=base_label,
                baseline_runs=rates["baseline"],
                paired=False,
                note=f"the same service call once {FILL_FRACTION:.0%} of the DatabaseCache's MAX_ENTRIES hold "
                "unexpired replay entries, as after about an hour at that many exchanges/hour",
            )
        ]
        if steady
        else []
    )


def _with_full_replay_cache(service: Any, rounds: int, backend: str) -> list[float]:
    """Time ``service`` again with the database cache table filled near its MAX_ENTRIES.

    Replay entries live until their assertion expires (up to an hour), so a busy deployment on the
    embedded cache runs with a full table, and DatabaseCache counts the table on every add.
    """
    import base64
    import pickle
    from datetime import UTC, datetime, timedelta

    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection

    options = settings.CACHES["default"].get("OPTIONS", {})
    target = int(options.get("MAX_ENTRIES", 300) * FILL_FRACTION)
    table = connection.ops.quote_name(settings.CACHES["default"]["LOCATION"])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        missing = target - cursor.fetchone()[0]
    progress(f"{backend}: filling the replay cache with {missing:,} entries, then timing {rounds} more rounds")
    value = base64.b64encode(pickle.dumps(1, pickle.HIGHEST_PROTOCOL)).decode()
    expires = connection.ops.adapt_datetimefield_value(datetime.now(UTC) + timedelta(hours=1))
    rows = [(cache.make_key(f"assertion:bench-filler-{i}"), value, expires) for i in range(max(missing, 0))]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s)", rows)
    return interleaved({"service": service}, rounds)["service"]
