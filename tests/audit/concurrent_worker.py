"""Child process of the concurrency test: its own Django, its own connection, real HTTP requests.

Kept apart from the test module so that a spawned child imports nothing that touches Django
before ``django.setup()`` has pointed it at the test database.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any


def token_requests(env: dict[str, str], credentials: dict[str, str], count: int, barrier: Any) -> dict[int, int]:
    """Make ``count`` token requests (each audited: auth.token.grant) once every sibling is ready.

    Returns how many responses had each status code.
    """
    os.environ.update(env)
    import django

    django.setup()
    import jwt
    from django.db import connection
    from django.test import Client

    client = Client(raise_request_exception=False)
    statuses: Counter[int] = Counter()
    barrier.wait(timeout=60)
    for _ in range(count):
        # A fresh assertion per request: the token endpoint accepts each one once.
        assertion = jwt.encode(
            {
                "iss": credentials["clientID"],
                "sub": credentials["clientID"],
                "key": credentials["keyID"],
                "aud": credentials["tokenURI"],
                "exp": int(time.time()) + 600,
            },
            credentials["privateKey"],
            algorithm="ES256",
        )
        response = client.post(
            "/v1/auth/sa/oauth/token",
            data=json.dumps({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}),
            content_type="application/json",
        )
        statuses[response.status_code] += 1
    connection.close()
    return dict(statuses)
