"""Upsert (insert, or update the record holding the value of a unique column) and bring-your-own-token
(``byot`` with each record's ``tokens``), on the insert, batch and update endpoints (SKYFLOW_WIRE.md §2)."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from vaults.models import Record, Token

from .test_data_plane import ADA, ALL_PLAIN, WRITE

pytestmark = pytest.mark.django_db

DETOKENIZE = "ALLOW DETOKENIZATION ON persons.ssn, persons.card_number WITH REDACTION = PLAIN_TEXT"


def post(client, vault, body):
    return client.post(f"/v1/vaults/{vault.id}/persons", body, format="json")


def read(client, vault, sid):
    return client.get(f"/v1/vaults/{vault.id}/persons/{sid}", {"redaction": "PLAIN_TEXT"}).json()["fields"]


def detokenize(client, vault, token):
    body = {"detokenizationParameters": [{"token": token, "redaction": "PLAIN_TEXT"}], "continueOnError": True}
    return client.post(f"/v1/vaults/{vault.id}/detokenize", body, format="json").json()["records"][0]


def message(response):
    return response.json()["error"]["message"]


# --- upsert --------------------------------------------------------------------------------------


def test_upsert_inserts_then_updates_the_record_holding_the_value(persons_vault, caller_with):
    client = caller_with(persons_vault, ALL_PLAIN, WRITE)
    first = post(client, persons_vault, {"records": [{"fields": ADA}], "upsert": "email", "tokenization": True})
    assert first.status_code == 200, first.content
    sid = first.json()["records"][0]["skyflow_id"]
    # The email column is encrypted: the record is found through its unique blind index (emails
    # compare case-insensitively there).
    changed = {**ADA, "email": "ada@example.com", "name": "Ada King"}
    second = post(client, persons_vault, {"records": [{"fields": changed}], "upsert": "email", "tokenization": True})
    assert second.status_code == 200, second.content
    assert second.json()["records"][0]["skyflow_id"] == sid
    assert set(second.json()["records"][0]["tokens"]) == {"ssn", "card_number"}
    assert Record.objects.count() == 1 and read(client, persons_vault, sid)["name"] == "Ada King"
    assert list(AuditEvent.objects.filter(action__in=["record.insert", "record.update"]).values_list("action")) == [
        ("record.insert",),
        ("record.update",),
    ]


def test_upsert_of_new_and_existing_records_answers_in_order(persons_vault, caller_with):
    client = caller_with(persons_vault, ALL_PLAIN, WRITE)
    sid = post(client, persons_vault, {"records": [{"fields": ADA}]}).json()["records"][0]["skyflow_id"]
    bob = {**ADA, "email": "bob@example.com", "ssn": "222-33-4444", "name": "Bob"}
    body = {"records": [{"fields": bob}, {"fields": {**ADA, "name": "Ada II"}}], "upsert": "email"}
    answer = post(client, persons_vault, body)
    assert answer.status_code == 200, answer.content
    ids = [r["skyflow_id"] for r in answer.json()["records"]]
    assert ids[1] == sid and ids[0] != sid and Record.objects.count() == 2
    assert read(client, persons_vault, ids[0])["name"] == "Bob"
    assert read(client, persons_vault, sid)["name"] == "Ada II"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"records": [{"fields": ADA}], "upsert": "nope"}, "not a column of persons"),
        ({"records": [{"fields": ADA}], "upsert": "region"}, "needs a unique column"),
        ({"records": [{"fields": {**ADA, "email": None}}], "upsert": "email"}, "no value for the upsert column"),
        ({"records": [{"fields": {"name": "x"}}], "upsert": "email"}, "no value for the upsert column"),
        ({"records": [{"fields": ADA}, {"fields": {**ADA, "name": "B"}}], "upsert": "email"}, "same email"),
        ({"records": [{"fields": {**ADA, "email": "not an email"}}], "upsert": "email"}, "email"),
    ],
)
def test_bad_upserts_are_refused_and_write_nothing(persons_vault, caller_with, body, says):
    client = caller_with(persons_vault, ALL_PLAIN, WRITE)
    response = post(client, persons_vault, body)
    assert response.status_code == 400 and says in message(response), response.content
    assert Record.objects.count() == 0


def test_upsert_onto_a_record_the_caller_may_not_update_is_refused_without_its_id(persons_vault, caller_with):
    writer = caller_with(persons_vault, WRITE)
    sid = post(writer, persons_vault, {"records": [{"fields": ADA}]}).json()["records"][0]["skyflow_id"]
    creator = caller_with(persons_vault, "ALLOW CREATE ON persons.*")
    bob = {**ADA, "email": "bob@example.com", "ssn": "222-33-4444"}
    response = post(creator, persons_vault, {"records": [{"fields": bob}, {"fields": ADA}], "upsert": "email"})
    assert response.status_code == 403 and "not allowed to update" in message(response)
    assert sid not in response.content.decode()
    assert Record.objects.count() == 1  # Bob's insert went back with the refusal
    refused = AuditEvent.objects.filter(request_id=response["X-Request-Id"]).values_list("action", "decision")
    assert list(refused) == [("record.update", "DENY")]


def test_upsert_of_a_new_value_needs_create(persons_vault, caller_with):
    updater = caller_with(persons_vault, "ALLOW UPDATE ON persons.*")
    response = post(updater, persons_vault, {"records": [{"fields": ADA}], "upsert": "email"})
    assert response.status_code == 403 and Record.objects.count() == 0


def test_upsert_keeps_updates_inside_their_row_condition(persons_vault, caller_with):
    writer = caller_with(persons_vault, WRITE)
    sid = post(writer, persons_vault, {"records": [{"fields": {**ADA, "region": "US"}}]}).json()["records"][0][
        "skyflow_id"
    ]
    eu_only = caller_with(
        persons_vault, "ALLOW CREATE ON persons.*\nALLOW UPDATE ON persons.* WHERE persons.region = 'EU'"
    )
    response = post(eu_only, persons_vault, {"records": [{"fields": {**ADA, "name": "Moved"}}], "upsert": "email"})
    assert response.status_code == 403
    assert Record.objects.get(pk=sid).data["region"] == "US"


def test_batch_records_upsert_each_on_their_own_column(persons_vault, caller_with):
    client = caller_with(persons_vault, ALL_PLAIN, WRITE)
    sid = post(client, persons_vault, {"records": [{"fields": ADA}]}).json()["records"][0]["skyflow_id"]
    body = {
        "records": [
            {"tableName": "persons", "method": "POST", "fields": {**ADA, "name": "Via batch"}, "upsert": "email"},
            # v1 sends "" for a record whose table is not in its upsert options: a plain insert.
            {"tableName": "persons", "method": "POST", "fields": {**ADA, "email": "c@example.com"}, "upsert": ""},
        ],
        "byot": "DISABLE",
    }
    response = client.post(f"/v1/vaults/{persons_vault.id}", body, format="json")
    assert response.status_code == 200, response.content
    ids = [item["records"][0]["skyflow_id"] for item in response.json()["responses"]]
    assert ids[0] == sid and ids[1] != sid and Record.objects.count() == 2
    assert read(client, persons_vault, sid)["name"] == "Via batch"


# --- bring your own token -----------------------------------------------------------------------------


def test_byot_enable_takes_the_callers_tokens_and_issues_the_rest(persons_vault, caller_with):
    client = caller_with(persons_vault, ALL_PLAIN, WRITE, DETOKENIZE)
    body = {
        "records": [{"fields": ADA, "tokens": {"ssn": "legacy-ssn-0001"}}],
        "tokenization": True,
        "byot": "ENABLE",
    }
    response = post(client, persons_vault, body)
    assert response.status_code == 200, response.content
    tokens = response.json()["records"][0]["tokens"]
    assert tokens["ssn"] == "legacy-ssn-0001" and tokens["card_number"] not in ("", None, ADA["card_number"])
    assert detokenize(client, persons_vault, "legacy-ssn-0001")["value"] == ADA["ssn"]
    assert Token.objects.get(token="legacy-ssn-0001").column.name == "ssn"


@pytest.mark.parametrize(
    ("byot", "tokens", "says"),
    [
        ("DISABLE", {"ssn": "t-1"}, "byot is DISABLE"),
        ("ENABLE", {"region": "t-1"}, "not tokenized"),
        ("ENABLE", {"nope": "t-1"}, "no such column"),
        ("ENABLE", {"ssn": "has space"}, "spaces or control characters"),
        ("ENABLE", {"ssn": "x" * 129}, "at most 128"),
        ("ENABLE_STRICT", {"ssn": "t-1"}, "none for card_number"),
    ],
)
def test_bad_brought_tokens_are_refused_and_write_nothing(persons_vault, caller_with, byot, tokens, says):
    client = caller_with(persons_vault, WRITE)
    response = post(client, persons_vault, {"records": [{"fields": ADA, "tokens": tokens}], "byot": byot})
    assert response.status_code == 400 and says in message(response), response.content
    assert Record.objects.count() == 0 and Token.objects.count() == 0


def test_a_token_for_a_value_the_record_does_not_have_is_refused(persons_vault, caller_with):
    client = caller_with(persons_vault, WRITE)
    fields = {k: v for k, v in ADA.items() if k != "ssn"}
    response = post(client, persons_vault, {"records": [{"fields": fields, "tokens": {"ssn": "t"}}], "byot": "ENABLE"})
    assert response.status_code == 400 and "no value for ssn" in message(response)


def test_byot_enable_strict_with_every_token(persons_vault, caller_with):
    client = caller_with(persons_vault, WRITE)
    own = {"ssn": "strict-ssn", "card_number": "strict-card"}
    response = post(
        client,
        persons_vault,
        {"records": [{"fields": ADA, "tokens": own}], "byot": "ENABLE_STRICT", "tokenization": True},
    )
    assert response.status_code == 200, response.content
    assert response.json()["records"][0]["tokens"] == own


def test_a_brought_token_already_in_use_is_a_conflict_and_writes_nothing(persons_vault, caller_with):
    client = caller_with(persons_vault, WRITE)
    body = {"records": [{"fields": ADA, "tokens": {"ssn": "taken-token"}}], "byot": "ENABLE"}
    assert post(client, persons_vault, body).status_code == 200
    other = {**ADA, "email": "b@example.com"}
    again = {"records": [{"fields": other, "tokens": {"ssn": "taken-token"}}], "byot": "ENABLE"}
    response = post(client, persons_vault, again)
    assert response.status_code == 409 and "taken-token" in message(response)
    assert Record.objects.count() == 1
    # Two records of one request bringing the same token: bad input, named.
    twice = {
        "records": [
            {"fields": {**ADA, "email": f"{n}@example.com"}, "tokens": {"ssn": "twice-token"}} for n in ("x", "y")
        ],
        "byot": "ENABLE",
    }
    response = post(client, persons_vault, twice)
    assert response.status_code == 400 and "twice-token" in message(response)
    assert Record.objects.count() == 1 and not Token.objects.filter(token="twice-token").exists()


def test_update_with_a_brought_token_replaces_the_old_one(persons_vault, caller_with):
    client = caller_with(persons_vault, ALL_PLAIN, WRITE, DETOKENIZE)
    made = post(client, persons_vault, {"records": [{"fields": ADA}], "tokenization": True}).json()["records"][0]
    body = {
        "record": {"fields": {"ssn": "999-88-7777"}, "tokens": {"ssn": "updated-ssn-token"}},
        "tokenization": True,
        "byot": "ENABLE",
    }
    response = client.put(f"/v1/vaults/{persons_vault.id}/persons/{made['skyflow_id']}", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["tokens"] == {"ssn": "updated-ssn-token"}
    assert detokenize(client, persons_vault, "updated-ssn-token")["value"] == "999-88-7777"
    assert detokenize(client, persons_vault, made["tokens"]["ssn"]).get("error")
    refused = client.put(
        f"/v1/vaults/{persons_vault.id}/persons/{made['skyflow_id']}",
        {"record": {"fields": {"ssn": "111-22-3333"}, "tokens": {"ssn": "x"}}, "byot": "DISABLE"},
        format="json",
    )
    assert refused.status_code == 400 and "byot is DISABLE" in message(refused)
    assert read(client, persons_vault, made["skyflow_id"])["ssn"] == "999-88-7777"


def test_the_sdks_defaults_still_insert(persons_vault, caller_with):
    client = caller_with(persons_vault, WRITE)
    sdk_defaults = {"records": [{"fields": ADA, "tokens": None}], "upsert": None, "byot": "DISABLE"}
    assert post(client, persons_vault, sdk_defaults).status_code == 200


# --- unique values ---------------------------------------------------------------------------------


def test_a_taken_unique_value_is_a_409_naming_the_column_not_the_value(persons_vault, caller_with):
    client = caller_with(persons_vault, ALL_PLAIN, WRITE)
    sid = post(client, persons_vault, {"records": [{"fields": ADA}]}).json()["records"][0]["skyflow_id"]
    fresh = {**ADA, "email": "fresh@example.com", "ssn": "222-33-4444"}
    response = post(client, persons_vault, {"records": [{"fields": fresh}, {"fields": {**ADA, "name": "Dup"}}]})
    assert response.status_code == 409
    text = message(response)
    assert "records[1].email: another record already holds this value (email is unique)" in text
    assert "records[0]" not in text and ADA["email"].lower() not in text.lower() and sid not in text
    # Two records of one request with the same value: both named.
    twins = post(client, persons_vault, {"records": [{"fields": fresh}, {"fields": {**fresh, "name": "Twin"}}]})
    assert twins.status_code == 409
    assert "records[1].email: the same value as records[0].email" in message(twins)
    assert Record.objects.count() == 1
    # An update onto a value another record holds.
    other = post(client, persons_vault, {"records": [{"fields": fresh}]}).json()["records"][0]["skyflow_id"]
    moved = client.put(
        f"/v1/vaults/{persons_vault.id}/persons/{other}", {"record": {"fields": {"email": ADA["email"]}}}, format="json"
    )
    assert moved.status_code == 409 and "email: another record already holds this value" in message(moved)
    assert read(client, persons_vault, other)["email"] == "fresh@example.com"
