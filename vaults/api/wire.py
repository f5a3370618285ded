"""Skyflow's data-plane request shapes (SKYFLOW_WIRE.md §0–4) parsed into plain, validated values.

Pure: no Django, no database. The rules of §0 hold throughout: JSON ``null`` is accepted for every
optional field, unknown fields are ignored, a list in the query string arrives as repeated keys and
booleans as ``true``/``false``. Whatever is malformed raises ``WireError`` with a message that names
the field, which the views answer with a 400.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

REDACTIONS = ("DEFAULT", "REDACTED", "MASKED", "PLAIN_TEXT")
BYOT_MODES = ("DISABLE", "ENABLE", "ENABLE_STRICT")
ORDER_BY = ("ASCENDING", "DESCENDING", "NONE")
BATCH_METHODS = ("POST", "GET", "PUT", "DELETE", "NONE")
MAX_RECORDS_PER_REQUEST = 1000
MAX_TOKENS_PER_REQUEST = 1000
DEFAULT_GET_LIMIT = 25
MAX_GET_LIMIT = 1000


class WireError(ValueError):
    """A request that does not have Skyflow's shape; the message names the field."""


# --- small checks -------------------------------------------------------------------------------


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(f"{where} must be a JSON object.")
    return value


def _optional_bool(body: Mapping[str, Any], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise WireError(f"{key} must be true or false.")
    return value


def _optional_choice(body: Mapping[str, Any], key: str, choices: Sequence[str], default: str) -> str:
    value = body.get(key)
    if value is None or value == "":
        return default
    if value not in choices:
        raise WireError(f"{key} must be one of {', '.join(choices)}; got {value!r}.")
    return str(value)


def _fields(value: Any, where: str, *, required: bool = True) -> dict[str, Any]:
    if value is None and not required:
        return {}
    fields = _object(value, where)
    for name in fields:
        if not isinstance(name, str) or not name:
            raise WireError(f"{where} has an empty column name.")
    return fields


def _tokens(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    tokens = _object(value, where)
    for name, token in tokens.items():
        if not isinstance(token, str) or not token:
            raise WireError(f"{where}.{name} must be a non-empty token string.")
    return tokens


def _records_list(body: Mapping[str, Any], key: str = "records") -> list[Any]:
    records = body.get(key)
    if not isinstance(records, list) or not records:
        raise WireError(f"{key} must be a non-empty list.")
    if len(records) > MAX_RECORDS_PER_REQUEST:
        raise WireError(f"{key} holds {len(records)} items; at most {MAX_RECORDS_PER_REQUEST} per request.")
    return records


# --- insert (POST /v1/vaults/{vault}/{table}) -----------------------------------------------------


@dataclass(frozen=True)
class NewRecord:
    fields: dict[str, Any]
    tokens: dict[str, str]


@dataclass(frozen=True)
class InsertRequest:
    records: tuple[NewRecord, ...]
    tokenization: bool
    upsert: str | None
    byot: str


def parse_insert(body: Any) -> InsertRequest:
    body = _object(body, "The body")
    records = tuple(
        NewRecord(
            fields=_fields(_object(r, f"records[{i}]").get("fields"), f"records[{i}].fields"),
            tokens=_tokens(r.get("tokens"), f"records[{i}].tokens"),
        )
        for i, r in enumerate(_records_list(body))
    )
    upsert = body.get("upsert")
    if upsert is not None and (not isinstance(upsert, str)):
        raise WireError("upsert must be a column name or null.")
    return InsertRequest(
        records=records,
        tokenization=_optional_bool(body, "tokenization", False),
        upsert=upsert or None,
        byot=_optional_choice(body, "byot", BYOT_MODES, "DISABLE"),
    )


# --- batch (POST /v1/vaults/{vault}) ----------------------------------------------------------------


@dataclass(frozen=True)
class BatchOperation:
    index: int
    method: str
    table: str
    fields: dict[str, Any]
    tokens: dict[str, str]
    record_id: str | None
    tokenization: bool
    redaction: str
    upsert: str | None


@dataclass(frozen=True)
class BatchRequest:
    operations: tuple[BatchOperation, ...]
    continue_on_error: bool
    byot: str


def parse_batch(body: Any) -> BatchRequest:
    body = _object(body, "The body")
    operations = []
    for i, raw in enumerate(_records_list(body)):
        where = f"records[{i}]"
        record = _object(raw, where)
        table = record.get("tableName")
        if not isinstance(table, str) or not table:
            raise WireError(f"{where}.tableName is required.")
        method = _optional_choice(record, "method", BATCH_METHODS, "POST")
        if method == "NONE":
            method = "POST"
        record_id = record.get("ID")
        if method in ("GET", "PUT", "DELETE") and (not isinstance(record_id, str) or not record_id):
            raise WireError(f"{where}.ID is required for method {method}.")
        upsert = record.get("upsert")
        if upsert is not None and not isinstance(upsert, str):
            raise WireError(f"{where}.upsert must be a column name or null.")
        operations.append(
            BatchOperation(
                index=i,
                method=method,
                table=table,
                fields=_fields(record.get("fields"), f"{where}.fields", required=method in ("POST", "PUT")),
                tokens=_tokens(record.get("tokens"), f"{where}.tokens"),
                record_id=record_id if isinstance(record_id, str) and record_id else None,
                tokenization=_optional_bool(record, "tokenization", False),
                redaction=_optional_choice(record, "redaction", REDACTIONS, "DEFAULT"),
                upsert=upsert or None,
            )
        )
    return BatchRequest(
        operations=tuple(operations),
        continue_on_error=_optional_bool(body, "continueOnError", False),
        byot=_optional_choice(body, "byot", BYOT_MODES, "DISABLE"),
    )


# --- bulk get (GET /v1/vaults/{vault}/{table}) and get by id ------------------------------------------


@dataclass(frozen=True)
class GetRequest:
    skyflow_ids: tuple[str, ...]
    redaction: str
    tokenization: bool
    fields: tuple[str, ...] | None
    offset: int
    limit: int
    column_name: str | None
    column_values: tuple[str, ...]
    order_by: str


def _query_bool(params: Mapping[str, Sequence[str]], key: str) -> bool:
    values = params.get(key) or []
    if not values or values[-1] == "":
        return False
    if values[-1] not in ("true", "false", "True", "False", "1", "0"):
        raise WireError(f"{key} must be true or false.")
    return values[-1] in ("true", "True", "1")


def _query_int(params: Mapping[str, Sequence[str]], key: str, default: int, maximum: int | None = None) -> int:
    values = params.get(key) or []
    if not values or values[-1] == "":
        return default
    try:
        value = int(values[-1])
    except ValueError as exc:
        raise WireError(f"{key} must be a whole number; got {values[-1]!r}.") from exc
    if value < 0:
        raise WireError(f"{key} cannot be negative.")
    if maximum is not None and value > maximum:
        raise WireError(f"{key} is at most {maximum}.")
    return value


def _query_one(params: Mapping[str, Sequence[str]], key: str, choices: Sequence[str], default: str) -> str:
    values = params.get(key) or []
    if not values or values[-1] == "":
        return default
    if values[-1] not in choices:
        raise WireError(f"{key} must be one of {', '.join(choices)}; got {values[-1]!r}.")
    return values[-1]


def _query_list(params: Mapping[str, Sequence[str]], key: str) -> tuple[str, ...]:
    # Repeated keys (the SDKs), and comma-separated values (hand-written URLs) are both accepted.
    out: list[str] = []
    for value in params.get(key) or []:
        out.extend(part for part in value.split(",") if part)
    return tuple(out)


def parse_get(params: Mapping[str, Sequence[str]], *, single: bool = False) -> GetRequest:
    """Query parameters of bulk get (or, with ``single``, of get by id) as Skyflow names them."""
    tokenization = _query_bool(params, "tokenization")
    redaction_given = bool((params.get("redaction") or [""])[-1])
    redaction = _query_one(params, "redaction", REDACTIONS, "DEFAULT")
    if tokenization and redaction_given and redaction != "DEFAULT":
        raise WireError("redaction cannot be used together with tokenization=true: tokens are returned as they are.")
    if _query_bool(params, "downloadURL"):
        raise WireError("downloadURL is not supported: VaultStudio stores no files.")
    fields = _query_list(params, "fields")
    if single:
        return GetRequest((), redaction, tokenization, fields or None, 0, 1, None, (), "NONE")
    skyflow_ids = _query_list(params, "skyflow_ids")
    column_name = (params.get("column_name") or [""])[-1] or None
    column_values = tuple(params.get("column_values") or [])
    if column_name and not column_values:
        raise WireError("column_name needs column_values (one or more, as repeated keys).")
    if column_values and not column_name:
        raise WireError("column_values needs column_name.")
    if column_name and skyflow_ids:
        raise WireError("Use either skyflow_ids or column_name/column_values, not both.")
    if len(skyflow_ids) > MAX_RECORDS_PER_REQUEST or len(column_values) > MAX_RECORDS_PER_REQUEST:
        raise WireError(f"At most {MAX_RECORDS_PER_REQUEST} ids or values per request.")
    return GetRequest(
        skyflow_ids=skyflow_ids,
        redaction=redaction,
        tokenization=tokenization,
        fields=fields or None,
        offset=_query_int(params, "offset", 0),
        limit=_query_int(params, "limit", DEFAULT_GET_LIMIT, MAX_GET_LIMIT),
        column_name=column_name,
        column_values=column_values,
        order_by=_query_one(params, "order_by", ORDER_BY, "NONE"),
    )


# --- update, bulk delete --------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateRequest:
    fields: dict[str, Any]
    tokens: dict[str, str]
    tokenization: bool
    byot: str


def parse_update(body: Any) -> UpdateRequest:
    body = _object(body, "The body")
    record = _object(body.get("record"), "record")
    fields = _fields(record.get("fields"), "record.fields")
    if not fields:
        raise WireError("record.fields must name at least one column to change.")
    return UpdateRequest(
        fields=fields,
        tokens=_tokens(record.get("tokens"), "record.tokens"),
        tokenization=_optional_bool(body, "tokenization", False),
        byot=_optional_choice(body, "byot", BYOT_MODES, "DISABLE"),
    )


@dataclass(frozen=True)
class BulkDeleteRequest:
    skyflow_ids: tuple[str, ...]
    everything: bool


def parse_bulk_delete(body: Any) -> BulkDeleteRequest:
    body = _object(body, "The body")
    ids = body.get("skyflow_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise WireError('skyflow_ids must be a non-empty list of ids, or ["*"] for every record.')
    if "*" in ids:
        if len(ids) != 1:
            raise WireError('"*" deletes every record; send it alone.')
        return BulkDeleteRequest((), True)
    if len(ids) > MAX_RECORDS_PER_REQUEST:
        raise WireError(f"At most {MAX_RECORDS_PER_REQUEST} ids per request.")
    return BulkDeleteRequest(tuple(ids), False)


# --- tokens ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DetokenizeRequest:
    tokens: tuple[tuple[str, str], ...]  # (token, redaction)
    continue_on_error: bool


def parse_detokenize(body: Any) -> DetokenizeRequest:
    body = _object(body, "The body")
    params = body.get("detokenizationParameters")
    if not isinstance(params, list) or not params:
        raise WireError("detokenizationParameters must be a non-empty list of {token, redaction}.")
    if len(params) > MAX_TOKENS_PER_REQUEST:
        raise WireError(f"At most {MAX_TOKENS_PER_REQUEST} tokens per request.")
    if _optional_bool(body, "downloadURL", False):
        raise WireError("downloadURL is not supported: VaultStudio stores no files.")
    tokens = []
    for i, raw in enumerate(params):
        item = _object(raw, f"detokenizationParameters[{i}]")
        token = item.get("token")
        if not isinstance(token, str) or not token:
            raise WireError(f"detokenizationParameters[{i}].token is required.")
        tokens.append((token, _optional_choice(item, "redaction", REDACTIONS, "DEFAULT")))
    return DetokenizeRequest(tuple(tokens), _optional_bool(body, "continueOnError", False))


@dataclass(frozen=True)
class TokenizeRequest:
    values: tuple[tuple[Any, str], ...]  # (value, column group)


def parse_tokenize(body: Any) -> TokenizeRequest:
    body = _object(body, "The body")
    params = body.get("tokenizationParameters")
    if not isinstance(params, list) or not params:
        raise WireError("tokenizationParameters must be a non-empty list of {value, columnGroup}.")
    if len(params) > MAX_TOKENS_PER_REQUEST:
        raise WireError(f"At most {MAX_TOKENS_PER_REQUEST} values per request.")
    values = []
    for i, raw in enumerate(params):
        item = _object(raw, f"tokenizationParameters[{i}]")
        group = item.get("columnGroup")
        if not isinstance(group, str) or not group:
            raise WireError(f"tokenizationParameters[{i}].columnGroup is required.")
        if "value" not in item or item["value"] is None:
            raise WireError(f"tokenizationParameters[{i}].value is required.")
        values.append((item["value"], group))
    return TokenizeRequest(tuple(values))


def parse_query_body(body: Any) -> str:
    body = _object(body, "The body")
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise WireError("query must be a SQL string, e.g. SELECT * FROM persons.")
    return query
