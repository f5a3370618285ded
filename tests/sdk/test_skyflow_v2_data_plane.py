"""Skyflow's official Python SDK 2.x drives VaultStudio's data plane over a live server.

Two layers of the SDK are used as real clients, unchanged:

* the generated REST client (``skyflow.generated.rest.client.Skyflow``) with ``base_url`` pointed at
  the live server — insert, bulk get (ids, column values, redactions, tokenization), get by id,
  update, detokenize, tokenize, bulk delete and the error paths;
* the high-level API (``Skyflow.builder()…vault(...)``), with the two patches SKYFLOW_WIRE.md §8
  names: ``get_vault_url`` (it would build ``https://{cluster}.vault.skyflowapis.com``) and the
  https-only check on the token URI (the test server speaks plain http).

Every answer is checked against what the caller's policies allow: plain text where PLAIN_TEXT is
granted, the column's mask where only MASKED is, nothing where nothing is.
"""

from __future__ import annotations

import httpx
import pytest

from tests.sdk.conftest import (
    ADA,
    ADA_DEFAULT_MASKED,
    ADA_MASKED,
    DETOKENIZE_PLAIN,
    MASKED_POLICIES,
    PLAIN_POLICIES,
    WRITE,
)

skyflow_sa = pytest.importorskip(
    "skyflow.service_account._utils", reason="needs the skyflow 2.x SDK (requirements-dev.txt)"
)

pytestmark = pytest.mark.django_db(transaction=True)

BOB = {
    "name": "Bob Babbage",
    "email": "bob@example.com",
    "ssn": "987-65-4321",
    "card_number": "5555555555554444",
    "region": "US",
    "vip": False,
}


@pytest.fixture
def rest(live_base, monkeypatch):
    """Make a generated REST client for a caller: a bearer token from its credentials.json."""
    from skyflow.generated.rest.client import Skyflow as RestClient

    # The only change to the SDK: accept the live server's http token URI (SKYFLOW_WIRE.md §1).
    monkeypatch.setattr(skyflow_sa, "is_valid_url", lambda url: True)

    opened: list[httpx.Client] = []

    def make(caller):
        token, token_type = skyflow_sa.generate_bearer_token(str(caller.path))
        assert token_type == "Bearer"
        opened.append(httpx.Client())
        return RestClient(base_url=live_base, token=token, httpx_client=opened[-1])

    yield make
    # Close the keep-alive connections: a live-server thread waiting on one holds a database
    # connection open, which keeps PostgreSQL from dropping the test database at the end.
    for client in opened:
        client.close()


def _fields(record) -> dict:
    return dict(record.fields)


def test_generated_client_full_cycle(sdk_vault, sdk_caller, rest):
    from skyflow.generated.rest import V1DetokenizeRecordRequest, V1FieldRecords, V1TokenizeRecordRequest

    vault_id = str(sdk_vault.id)
    client = rest(sdk_caller(sdk_vault, *PLAIN_POLICIES))

    inserted = client.records.record_service_insert_record(
        vault_id, "persons", records=[V1FieldRecords(fields=ADA), V1FieldRecords(fields=BOB)], tokenization=True
    )
    assert len(inserted.records) == 2
    ada_id, bob_id = (r.skyflow_id for r in inserted.records)
    ada_tokens = inserted.records[0].tokens
    # Only the tokenized columns of the schema come back as tokens.
    assert set(ada_tokens) == {"ssn", "card_number"}
    assert ada_tokens["ssn"] != ADA["ssn"] and ada_tokens["card_number"][:6] == "411111"

    # Bulk get by ids, plain text: every value exactly as stored.
    got = client.records.record_service_bulk_get_record(
        vault_id, "persons", skyflow_ids=[ada_id, bob_id], redaction="PLAIN_TEXT"
    )
    by_id = {_fields(r)["skyflow_id"]: _fields(r) for r in got.records}
    assert by_id == {ada_id: {**ADA, "skyflow_id": ada_id}, bob_id: {**BOB, "skyflow_id": bob_id}}

    # Bulk get by a searchable (blind-indexed) column; the lookup is case-insensitive for emails.
    found = client.records.record_service_bulk_get_record(
        vault_id, "persons", column_name="email", column_values=["ada@example.com"], redaction="PLAIN_TEXT"
    )
    assert [_fields(r)["skyflow_id"] for r in found.records] == [ada_id]

    # The request may ask for less than it is granted: MASKED gives each column's mask.
    masked = client.records.record_service_bulk_get_record(
        vault_id, "persons", skyflow_ids=[ada_id], redaction="MASKED"
    )
    assert _fields(masked.records[0]) == {**ADA_MASKED, "skyflow_id": ada_id}

    # tokenization=true: tokenized columns come back as their tokens, inside fields (§2.3).
    tokenized = client.records.record_service_bulk_get_record(
        vault_id, "persons", skyflow_ids=[ada_id], tokenization=True
    )
    tokenized_fields = _fields(tokenized.records[0])
    assert tokenized_fields["ssn"] == ada_tokens["ssn"]
    assert tokenized_fields["card_number"] == ada_tokens["card_number"]

    # fields= narrows the columns; the record id always comes along.
    narrow = client.records.record_service_bulk_get_record(
        vault_id, "persons", skyflow_ids=[ada_id], fields=["name", "region"], redaction="PLAIN_TEXT"
    )
    assert _fields(narrow.records[0]) == {"skyflow_id": ada_id, "name": ADA["name"], "region": "EU"}

    # Get by id answers one unwrapped record.
    one = client.records.record_service_get_record(vault_id, "persons", ada_id, redaction="PLAIN_TEXT")
    assert one.fields == {**ADA, "skyflow_id": ada_id}

    updated = client.records.record_service_update_record(
        vault_id,
        "persons",
        ada_id,
        record=V1FieldRecords(fields={"region": "US", "ssn": "111-22-3333"}),
        tokenization=True,
    )
    assert updated.skyflow_id == ada_id and set(updated.tokens or {}) >= {"ssn"}
    again = client.records.record_service_get_record(vault_id, "persons", ada_id, redaction="PLAIN_TEXT")
    assert again.fields["region"] == "US" and again.fields["ssn"] == "111-22-3333"

    detok = client.tokens.record_service_detokenize(
        vault_id,
        detokenization_parameters=[
            V1DetokenizeRecordRequest(token=updated.tokens["ssn"], redaction="PLAIN_TEXT"),
            V1DetokenizeRecordRequest(token=ada_tokens["card_number"], redaction="PLAIN_TEXT"),
        ],
    )
    assert [(r.token, r.value, r.value_type) for r in detok.records] == [
        (updated.tokens["ssn"], "111-22-3333", "STRING"),
        (ada_tokens["card_number"], ADA["card_number"], "STRING"),
    ]

    # Tokenize a value into the ssn column's group ("ssns"), then read it back through detokenize.
    tokenize = client.tokens.record_service_tokenize(
        vault_id, tokenization_parameters=[V1TokenizeRecordRequest(value="222-33-4444", column_group="ssns")]
    )
    fresh = tokenize.records[0].token
    assert fresh and fresh != "222-33-4444"
    back = client.tokens.record_service_detokenize(
        vault_id, detokenization_parameters=[V1DetokenizeRecordRequest(token=fresh, redaction="PLAIN_TEXT")]
    )
    assert back.records[0].value == "222-33-4444"

    deleted = client.records.record_service_bulk_delete_record(vault_id, "persons", skyflow_ids=[ada_id, bob_id])
    assert sorted(deleted.record_id_response) == sorted([ada_id, bob_id])
    gone = client.records.record_service_bulk_get_record(vault_id, "persons", skyflow_ids=[ada_id, bob_id])
    assert gone.records == []


def test_generated_client_error_paths(sdk_vault, sdk_caller, rest):
    from skyflow.generated.rest import V1DetokenizeRecordRequest, V1FieldRecords
    from skyflow.generated.rest.core.api_error import ApiError
    from skyflow.generated.rest.errors.not_found_error import NotFoundError

    vault_id = str(sdk_vault.id)
    writer = rest(sdk_caller(sdk_vault, *PLAIN_POLICIES))
    sid = writer.records.record_service_insert_record(
        vault_id, "persons", records=[V1FieldRecords(fields=ADA)], tokenization=True
    ).records[0]
    ada_id, ssn_token = sid.skyflow_id, sid.tokens["ssn"]

    # A 404 is NotFoundError carrying Skyflow's error envelope.
    with pytest.raises(NotFoundError) as missing:
        writer.records.record_service_get_record(vault_id, "persons", "00000000-0000-0000-0000-000000000000")
    assert missing.value.status_code == 404
    error = missing.value.body["error"]
    assert error["http_code"] == 404 and error["http_status"] == "Not Found"
    assert isinstance(error["grpc_code"], int) and isinstance(error["message"], str) and error["details"] == []
    assert missing.value.headers.get("x-request-id")

    # A caller with no READ policy gets no records at all — not masked ones, not ids.
    nobody = rest(sdk_caller(sdk_vault))
    empty = nobody.records.record_service_bulk_get_record(
        vault_id, "persons", skyflow_ids=[ada_id], redaction="PLAIN_TEXT"
    )
    assert empty.records == []
    with pytest.raises(NotFoundError):  # "not allowed" and "not found" are the same 404
        nobody.records.record_service_get_record(vault_id, "persons", ada_id)
    with pytest.raises(ApiError) as refused:
        nobody.records.record_service_insert_record(vault_id, "persons", records=[V1FieldRecords(fields=BOB)])
    assert refused.value.status_code == 403 and refused.value.body["error"]["http_code"] == 403

    # A MASKED-only caller never sees plain text, whatever redaction it asks for.
    masked = rest(sdk_caller(sdk_vault, *MASKED_POLICIES))
    for redaction in ("PLAIN_TEXT", "MASKED"):
        got = masked.records.record_service_bulk_get_record(
            vault_id, "persons", skyflow_ids=[ada_id], redaction=redaction
        )
        assert _fields(got.records[0]) == {**ADA_MASKED, "skyflow_id": ada_id}, redaction
    # DEFAULT asks for each column's own default level, still capped at MASKED.
    default = masked.records.record_service_bulk_get_record(
        vault_id, "persons", skyflow_ids=[ada_id], redaction="DEFAULT"
    )
    assert _fields(default.records[0]) == {**ADA_DEFAULT_MASKED, "skyflow_id": ada_id}
    one = masked.records.record_service_get_record(vault_id, "persons", ada_id, redaction="PLAIN_TEXT")
    assert one.fields == {**ADA_MASKED, "skyflow_id": ada_id}
    detok = masked.tokens.record_service_detokenize(
        vault_id, detokenization_parameters=[V1DetokenizeRecordRequest(token=ssn_token, redaction="PLAIN_TEXT")]
    )
    assert detok.records[0].value == ADA_MASKED["ssn"]

    # continueOnError: a bad token is reported per record, the good one still answered.
    mixed = writer.tokens.record_service_detokenize(
        vault_id,
        detokenization_parameters=[
            V1DetokenizeRecordRequest(token=ssn_token, redaction="PLAIN_TEXT"),
            V1DetokenizeRecordRequest(token="no-such-token", redaction="PLAIN_TEXT"),
        ],
        continue_on_error=True,
    )
    assert mixed.records[0].value == ADA["ssn"]
    assert mixed.records[1].token == "no-such-token" and mixed.records[1].error and mixed.records[1].value is None
    # Without it, the whole request fails.
    with pytest.raises(NotFoundError):
        writer.tokens.record_service_detokenize(
            vault_id, detokenization_parameters=[V1DetokenizeRecordRequest(token="no-such-token")]
        )


@pytest.fixture
def high_level(live_base, monkeypatch):
    """Make a high-level ``Skyflow`` vault client for a caller, pointed at the live server."""
    import skyflow.vault.client.client as vault_client
    from skyflow import Env, Skyflow

    # get_vault_url would build https://{cluster_id}.vault.skyflowapis.com: the one piece of the
    # high-level API that cannot reach localhost unpatched. The token URI check is the other (§1).
    monkeypatch.setattr(vault_client, "get_vault_url", lambda cluster_id, env, vault_id, logger=None: live_base)
    monkeypatch.setattr(skyflow_sa, "is_valid_url", lambda url: True)

    def make(vault, caller):
        config = {
            "vault_id": str(vault.id),
            "cluster_id": "local",
            "env": Env.PROD,
            "credentials": {"path": str(caller.path)},
        }
        return Skyflow.builder().add_vault_config(config).build().vault(str(vault.id))

    return make


def test_high_level_insert_get_detokenize(sdk_vault, sdk_caller, high_level):
    from skyflow.utils.enums import RedactionType
    from skyflow.vault.data import GetRequest, InsertRequest
    from skyflow.vault.tokens import DetokenizeRequest

    writer = high_level(
        sdk_vault, sdk_caller(sdk_vault, WRITE, "ALLOW READ ON persons.* WITH REDACTION = PLAIN_TEXT", DETOKENIZE_PLAIN)
    )
    inserted = writer.insert(InsertRequest(table="persons", values=[ADA], return_tokens=True))
    assert not inserted.errors
    row = inserted.inserted_fields[0]
    ada_id = row["skyflow_id"]
    assert set(row) >= {"skyflow_id", "ssn", "card_number"}

    got = writer.get(GetRequest(table="persons", ids=[ada_id], redaction_type=RedactionType.PLAIN_TEXT))
    assert got.data == [{**ADA, "skyflow_id": ada_id}]

    detok = writer.detokenize(DetokenizeRequest(data=[{"token": row["ssn"], "redaction": RedactionType.PLAIN_TEXT}]))
    assert [(d["token"], d["value"]) for d in detok.detokenized_fields] == [(row["ssn"], ADA["ssn"])]

    masked = high_level(sdk_vault, sdk_caller(sdk_vault, *MASKED_POLICIES))
    capped = masked.get(GetRequest(table="persons", ids=[ada_id], redaction_type=RedactionType.PLAIN_TEXT))
    assert capped.data == [{**ADA_MASKED, "skyflow_id": ada_id}]


def test_high_level_upsert_and_own_tokens(sdk_vault, sdk_caller, high_level):
    """The SDK's ``upsert`` and ``token_mode``/``tokens`` options, as an app would use them."""
    from skyflow.utils.enums import RedactionType, TokenMode
    from skyflow.vault.data import GetRequest, InsertRequest
    from skyflow.vault.tokens import DetokenizeRequest

    writer = high_level(
        sdk_vault, sdk_caller(sdk_vault, WRITE, "ALLOW READ ON persons.* WITH REDACTION = PLAIN_TEXT", DETOKENIZE_PLAIN)
    )
    own = writer.insert(
        InsertRequest(
            table="persons",
            values=[ADA],
            tokens=[{"ssn": "legacy-ssn-ada"}],
            token_mode=TokenMode.ENABLE,
            return_tokens=True,
        )
    )
    assert not own.errors
    ada_id = own.inserted_fields[0]["skyflow_id"]
    assert own.inserted_fields[0]["ssn"] == "legacy-ssn-ada"
    detok = writer.detokenize(
        DetokenizeRequest(data=[{"token": "legacy-ssn-ada", "redaction": RedactionType.PLAIN_TEXT}])
    )
    assert [d["value"] for d in detok.detokenized_fields] == [ADA["ssn"]]

    # Upsert on the unique email column: the same record, changed.
    again = writer.insert(InsertRequest(table="persons", values=[{**ADA, "name": "Ada King"}], upsert="email"))
    assert not again.errors and again.inserted_fields[0]["skyflow_id"] == ada_id
    got = writer.get(GetRequest(table="persons", ids=[ada_id], redaction_type=RedactionType.PLAIN_TEXT))
    assert got.data[0]["name"] == "Ada King"
