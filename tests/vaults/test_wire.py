"""Skyflow's request shapes, exactly as the SDKs send them (SKYFLOW_WIRE.md §0–4), and bad ones."""

from __future__ import annotations

import pytest

from vaults.api.wire import (
    WireError,
    parse_batch,
    parse_bulk_delete,
    parse_detokenize,
    parse_get,
    parse_insert,
    parse_query_body,
    parse_tokenize,
    parse_update,
)


def test_v2_insert_with_nulls_and_unknown_fields():
    body = {
        "records": [{"fields": {"name": "a"}, "tokens": None}],
        "tokenization": True,
        "upsert": None,
        "homogeneous": False,
        "byot": "DISABLE",
        "futureField": 1,
    }
    request = parse_insert(body)
    assert request.records[0].fields == {"name": "a"} and request.records[0].tokens == {}
    assert request.tokenization is True and request.upsert is None and request.byot == "DISABLE"


def test_v1_batch_exactly_as_sent():
    body = {
        "records": [
            {
                "tableName": "persons",
                "fields": {"name": "a"},
                "method": "POST",
                "quorum": True,
                "tokens": {"name": "t1"},
                "upsert": "",
                "tokenization": True,
            }
        ],
        "continueOnError": True,
        "byot": "DISABLE",
    }
    request = parse_batch(body)
    op = request.operations[0]
    assert (op.method, op.table, op.fields, op.tokens, op.upsert, op.tokenization) == (
        "POST",
        "persons",
        {"name": "a"},
        {"name": "t1"},
        None,
        True,
    )
    assert request.continue_on_error is True


def test_batch_defaults_and_other_methods():
    request = parse_batch(
        {
            "records": [
                {"tableName": "t", "fields": {"a": 1}},
                {"tableName": "t", "method": "GET", "ID": "x", "redaction": "MASKED"},
                {"tableName": "t", "method": "DELETE", "ID": "y"},
            ]
        }
    )
    assert [op.method for op in request.operations] == ["POST", "GET", "DELETE"]
    assert request.continue_on_error is False and request.operations[1].redaction == "MASKED"


@pytest.mark.parametrize(
    "body, message",
    [
        (None, "must be a JSON object"),
        ({"records": []}, "non-empty list"),
        ({"records": [{"fields": {}}]}, "tableName is required"),
        ({"records": [{"tableName": "t", "method": "GET"}]}, "ID is required"),
        ({"records": [{"tableName": "t", "method": "PATCH"}]}, "method must be one of"),
        ({"records": [{"tableName": "t", "fields": []}]}, "fields must be a JSON object"),
        ({"records": [{"tableName": "t", "fields": {}}], "continueOnError": "yes"}, "true or false"),
        ({"records": [{"tableName": "t", "fields": {}}], "byot": "MAYBE"}, "byot must be one of"),
        ({"records": [{"tableName": "t", "fields": {}}] * 1001}, "at most 1000"),
    ],
)
def test_bad_batches(body, message):
    with pytest.raises(WireError, match=message):
        parse_batch(body)


def test_v1_get_shapes():
    by_ids = parse_get({"skyflow_ids": ["a", "b"], "redaction": ["PLAIN_TEXT"]})
    assert by_ids.skyflow_ids == ("a", "b") and by_ids.redaction == "PLAIN_TEXT" and by_ids.limit == 25
    by_column = parse_get({"redaction": ["MASKED"], "column_name": ["email"], "column_values": ["x@y", "z@w"]})
    assert by_column.column_name == "email" and by_column.column_values == ("x@y", "z@w")
    tokens = parse_get({"skyflow_ids": ["a"], "tokenization": ["true"]})
    assert tokens.tokenization is True and tokens.redaction == "DEFAULT"


def test_v2_get_shape():
    request = parse_get(
        {
            "tokenization": ["false"],
            "fields": ["name", "ssn"],
            "offset": ["10"],
            "limit": ["100"],
            "order_by": ["DESCENDING"],
            "downloadURL": ["false"],
        }
    )
    assert request.fields == ("name", "ssn") and request.offset == 10 and request.limit == 100
    assert request.order_by == "DESCENDING"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"redaction": ["SECRET"]}, "redaction must be one of"),
        ({"tokenization": ["true"], "redaction": ["PLAIN_TEXT"]}, "cannot be used together"),
        ({"limit": ["ten"]}, "whole number"),
        ({"limit": ["5000"]}, "at most 1000"),
        ({"offset": ["-1"]}, "cannot be negative"),
        ({"column_name": ["email"]}, "needs column_values"),
        ({"column_values": ["x"]}, "needs column_name"),
        ({"column_name": ["email"], "column_values": ["x"], "skyflow_ids": ["a"]}, "not both"),
        ({"downloadURL": ["true"]}, "downloadURL is not supported"),
        ({"tokenization": ["maybe"]}, "true or false"),
        ({"order_by": ["RANDOM"]}, "order_by must be one of"),
    ],
)
def test_bad_gets(params, message):
    with pytest.raises(WireError, match=message):
        parse_get(params)


def test_get_by_id_params():
    request = parse_get({"redaction": ["DEFAULT"], "fields": ["a"]}, single=True)
    assert request.fields == ("a",) and request.limit == 1


def test_update_v1_and_v2():
    assert parse_update({"record": {"fields": {"name": "Bob"}}, "tokenization": True}).tokenization is True
    v2 = parse_update({"record": {"fields": {"name": "Bob"}, "tokens": None}, "tokenization": False, "byot": "DISABLE"})
    assert v2.fields == {"name": "Bob"} and v2.tokens == {}
    with pytest.raises(WireError, match="at least one column"):
        parse_update({"record": {"fields": {}}})
    with pytest.raises(WireError, match="record must be a JSON object"):
        parse_update({"fields": {"a": 1}})


def test_bulk_delete():
    assert parse_bulk_delete({"skyflow_ids": ["a", "b"]}).skyflow_ids == ("a", "b")
    assert parse_bulk_delete({"skyflow_ids": ["*"]}).everything is True
    for bad in ({"skyflow_ids": []}, {"skyflow_ids": ["*", "a"]}, {"skyflow_ids": "a"}, {}):
        with pytest.raises(WireError):
            parse_bulk_delete(bad)


def test_detokenize_v1_v2_and_generated():
    v1 = parse_detokenize({"detokenizationParameters": [{"token": "t1", "redaction": "PLAIN_TEXT"}]})
    assert v1.tokens == (("t1", "PLAIN_TEXT"),) and v1.continue_on_error is False
    v2 = parse_detokenize(
        {
            "detokenizationParameters": [{"token": "t1", "redaction": "DEFAULT"}],
            "downloadURL": False,
            "continueOnError": True,
        }
    )
    assert v2.continue_on_error is True
    generated = parse_detokenize({"detokenizationParameters": [{"token": "t1"}]})
    assert generated.tokens == (("t1", "DEFAULT"),)
    with pytest.raises(WireError, match="token is required"):
        parse_detokenize({"detokenizationParameters": [{"redaction": "DEFAULT"}]})


def test_tokenize_and_query():
    assert parse_tokenize({"tokenizationParameters": [{"value": "4111", "columnGroup": "cg"}]}).values == (
        ("4111", "cg"),
    )
    with pytest.raises(WireError, match="columnGroup is required"):
        parse_tokenize({"tokenizationParameters": [{"value": "4111"}]})
    assert parse_query_body({"query": "SELECT * FROM persons"}) == "SELECT * FROM persons"
    with pytest.raises(WireError, match="query must be"):
        parse_query_body({"query": 1})
