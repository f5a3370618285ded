"""The Skyflow Python SDK 1.x flow, run in its own interpreter by test_skyflow_v1_data_plane.py.

skyflow 1.x and 2.x are the same distribution name, so 1.x can't be installed beside the venv's
2.x: the test unpacks the 1.16.1 wheel into a directory and starts this script with that directory
first on ``sys.path`` (PYTHONPATH), so ``import skyflow`` is 1.x while PyJWT, requests, cryptography
and aiohttp still come from the venv. The script uses the SDK exactly as an app would
(SKYFLOW_WIRE.md §8 "v1") and prints one JSON summary on stdout for the test to check.

Input (one JSON object as argv[1]): ``base``, ``vault_id``, and the credentials.json paths
``plain``, ``masked`` and ``nobody`` of three callers holding different policies.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import skyflow
from skyflow.errors import SkyflowError
from skyflow.service_account import generate_bearer_token, is_expired
from skyflow.vault import (
    Client,
    Configuration,
    DetokenizeOptions,
    GetOptions,
    InsertOptions,
    RedactionType,
)
from skyflow.version import SDK_VERSION

ADA = {
    "name": "Ada Lovelace",
    "email": "Ada@Example.com",
    "ssn": "123-45-6789",
    "card_number": "4111111111111111",
    "region": "EU",
    "vip": True,
}


def client_for(base: str, vault_id: str, credentials_path: str) -> Client:
    cache = {"token": ""}

    # v1 accepts only a plain function as the token provider (a partial or bound method is
    # refused), so each client gets its own closure that caches the bearer token until it expires.
    def token_provider() -> str:
        if is_expired(cache["token"]):
            cache["token"] = generate_bearer_token(credentials_path).AccessToken
        return cache["token"]

    return Client(Configuration(vault_id, base, token_provider))


def error_of(call: Any) -> dict[str, Any]:
    """Run a call expected to fail; return the SkyflowError's code, message and data."""
    try:
        result = call()
    except SkyflowError as exc:
        return {"code": exc.code, "message": exc.message, "data": exc.data}
    return {"unexpected_success": result}


def main() -> None:
    args = json.loads(sys.argv[1])
    base, vault_id = args["base"], args["vault_id"]
    out: dict[str, Any] = {"sdk_version": SDK_VERSION, "sdk_file": skyflow.__file__}
    plain = client_for(base, vault_id, args["plain"])
    masked = client_for(base, vault_id, args["masked"])
    nobody = client_for(base, vault_id, args["nobody"])

    # insert → the batch endpoint, tokens on: fields = the tokenized columns' tokens + skyflow_id.
    inserted = plain.insert({"records": [{"table": "persons", "fields": ADA}]}, InsertOptions(tokens=True))
    out["insert"] = inserted
    row = inserted["records"][0]["fields"]
    sid = row["skyflow_id"]

    # insert with continueOnError: one good record, one naming a column that does not exist.
    out["insert_continue_on_error"] = plain.insert(
        {
            "records": [
                {"table": "persons", "fields": {**ADA, "email": "second@example.com", "ssn": "222-33-4444"}},
                {"table": "persons", "fields": {"no_such_column": "x"}},
            ]
        },
        InsertOptions(tokens=True, continueOnError=True),
    )

    # get: by ids, by a searchable column's values, and with tokens instead of values.
    out["get_plain"] = plain.get(
        {"records": [{"ids": [sid], "table": "persons", "redaction": RedactionType.PLAIN_TEXT}]}
    )
    out["get_by_email"] = plain.get(
        {
            "records": [
                {
                    "table": "persons",
                    "columnName": "email",
                    "columnValues": ["ada@example.com"],
                    "redaction": RedactionType.PLAIN_TEXT,
                }
            ]
        }
    )
    out["get_masked_request"] = plain.get(
        {"records": [{"ids": [sid], "table": "persons", "redaction": RedactionType.MASKED}]}
    )
    out["get_tokens"] = plain.get({"records": [{"ids": [sid], "table": "persons"}]}, GetOptions(tokens=True))
    out["get_by_id"] = plain.get_by_id(
        {"records": [{"ids": [sid], "table": "persons", "redaction": RedactionType.PLAIN_TEXT}]}
    )

    out["update"] = plain.update({"records": [{"id": sid, "table": "persons", "fields": {"region": "US"}}]})
    out["get_after_update"] = plain.get_by_id(
        {"records": [{"ids": [sid], "table": "persons", "redaction": RedactionType.PLAIN_TEXT}]}
    )

    # detokenize: the default continueOnError=True sends one request per token, concurrently;
    # False sends them all in one request.
    out["detokenize"] = plain.detokenize({"records": [{"token": row["ssn"]}, {"token": row["card_number"]}]})
    out["detokenize_bulk"] = plain.detokenize(
        {"records": [{"token": row["ssn"]}, {"token": row["card_number"]}]}, DetokenizeOptions(continueOnError=False)
    )
    out["detokenize_bad"] = error_of(
        lambda: plain.detokenize({"records": [{"token": row["ssn"]}, {"token": "no-such-token"}]})
    )

    out["query"] = plain.query({"query": "SELECT * FROM persons WHERE region = 'US'"})
    out["query_unsupported"] = error_of(lambda: plain.query({"query": "SELECT * FROM persons WHERE region > 'A'"}))

    # A MASKED-only caller, asking for plain text, gets each column's mask.
    out["masked_get"] = masked.get(
        {"records": [{"ids": [sid], "table": "persons", "redaction": RedactionType.PLAIN_TEXT}]}
    )
    out["masked_get_by_id"] = masked.get_by_id(
        {"records": [{"ids": [sid], "table": "persons", "redaction": RedactionType.PLAIN_TEXT}]}
    )
    out["masked_detokenize"] = masked.detokenize(
        {"records": [{"token": row["ssn"], "redaction": RedactionType.PLAIN_TEXT}]}
    )
    out["masked_query"] = masked.query({"query": f"SELECT * FROM persons WHERE skyflow_id = '{sid}'"})

    # A caller without any policy: nothing to read, nothing to write.
    out["nobody_get"] = nobody.get(
        {"records": [{"ids": [sid], "table": "persons", "redaction": RedactionType.PLAIN_TEXT}]}
    )
    out["nobody_insert"] = error_of(
        lambda: nobody.insert(
            {"records": [{"table": "persons", "fields": {"name": "Eve"}}]}, InsertOptions(tokens=True)
        )
    )

    out["delete"] = plain.delete({"records": [{"id": sid, "table": "persons"}]})
    out["delete_again"] = error_of(lambda: plain.delete({"records": [{"id": sid, "table": "persons"}]}))
    out["get_after_delete"] = plain.get(
        {"records": [{"ids": [sid], "table": "persons", "redaction": RedactionType.PLAIN_TEXT}]}
    )
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
