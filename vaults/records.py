"""Records: the one door to vault data (STYLE.md). Every read and write of ``Record`` goes through here.

Each call is authorized by the policy engine for the caller (``policies.pdp.decide_for``), filters
rows in the database (``vaults.row_filters``), seals and opens values with the vault's keys, turns
stored values into output through the single renderer path (``vaults.masking``), and writes one
audit event in its own transaction — never values. "Not found" and "not allowed" are the same 404.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.principals import actor_of
from audit.services import append_fields, append_refusal, appending, audit_append, event_fields
from policies.engine import Decision, row_matches
from policies.language import ast
from policies.language.compiled import condition_to_json
from policies.pdp import decide_for
from policies.services import policy_version
from vaultstudio.db import insert_many, json_member, read_json_member, rows_matching, uuid_text
from vaultstudio.errors import BadRequest, Conflict, Forbidden, NotFound, VaultError
from vaultstudio.inputs import parse_uuid
from vaultstudio.versioned import VersionedMemo

from . import keys
from .crypto.blind_index import IndexKey, blind_index
from .crypto.canonical import encode_part
from .crypto.envelope import (
    ColumnAad,
    ColumnCipher,
    DataKeyMaterial,
    key_version_of_text,
    open_text,
    seal_text,
)
from .crypto.errors import BlindIndexValueError, CiphertextIntegrityError
from .masking import MASKED, PLAIN_TEXT, REDACTED, TOKEN, compile_masking, detokenize_value, make_row_renderer
from .models import BlindIndex, Column, Record, Table, Token, Vault
from .row_filters import RowFilter
from .tokenization import IssuedToken, TokenCollisionError, Tokenizer, brought_token_problem
from .values import coerce, from_plaintext, to_plaintext

LEVEL_ORDER = (PLAIN_TEXT, MASKED, REDACTED)
_decode_json = json.JSONDecoder().decode


class IntegrityFailure(VaultError):
    """A stored ciphertext did not open under its binding: tampering, never returned as data."""

    status_code = 500
    default_detail = "A stored value failed its integrity check; nothing was returned. The event is audited."


# --- the per-request view of one vault ----------------------------------------------------------------


@dataclass
class VaultAccess:
    """One caller's access to one vault for one request: tables, columns and keys, loaded lazily."""

    caller: Any
    vault: Vault
    # The shared policy/schema/key version, read once per request (pass it when already read).
    version: int = field(default_factory=policy_version)
    _tables: dict[str, tuple[Table, dict[str, Column]]] = field(default_factory=dict)
    _aads: dict[tuple[str, str], ColumnAad] = field(default_factory=dict)
    _ciphers: dict[tuple[str, str, str], ColumnCipher] = field(default_factory=dict)
    _decisions: dict[tuple[Any, ...], Decision] = field(default_factory=dict)

    @cached_property
    def actor(self) -> Any:
        return actor_of(self.caller)

    def table(self, name: str) -> tuple[Table, dict[str, Column]]:
        if name not in self._tables:
            self._tables[name] = _table_plan(self.vault, name, self.version)
        return self._tables[name]

    @cached_property
    def _key_rows(self) -> list[Any]:
        return keys.key_rows_current(self.vault, self.version)

    @cached_property
    def data_keys(self) -> dict[int, DataKeyMaterial]:
        return keys.data_keys(self.vault, self._key_rows)

    @cached_property
    def active_key(self) -> DataKeyMaterial:
        return keys.active_data_key(self.vault, self._key_rows)

    @cached_property
    def index_key(self) -> IndexKey:
        return keys.index_key(self.vault, self._key_rows)

    def decide(
        self, action: str, table: str, columns: Sequence[str] | None = None, redaction: str | None = None
    ) -> Decision:
        # One decision per question per request (detokenize asks the same question per token).
        key = (action, table, tuple(columns) if columns is not None else None, redaction)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decisions[key] = decide_for(
                self.caller, self.vault, action, table, columns, redaction, version=self.version
            )
        return decision

    def row_filter(self, table: str) -> RowFilter:
        return RowFilter(table=table, columns=self.table(table)[1], index_key=self.index_key)

    # --- sealing ----------------------------------------------------------------------------------
    def column_aad(self, table: Table, column: Column) -> ColumnAad:
        key = (table.name, column.name)
        aad = self._aads.get(key)
        if aad is None:
            aad = self._aads[key] = ColumnAad(vault_id=str(self.vault.id), table=table.name, column=column.name)
        return aad

    def sealer(self, table: Table, column: Column) -> ColumnCipher:
        """The column's cipher with the active key: the insert loop seals every row's value with it."""
        key = ("seal", table.name, column.name)
        cipher = self._ciphers.get(key)
        if cipher is None:
            cipher = self._ciphers[key] = ColumnCipher(self.column_aad(table, column), (), self.active_key)
        return cipher

    def opener(self, table: Table, column: Column) -> ColumnCipher:
        """The column's cipher with every data key: read loops open each row's value with it."""
        key = ("open", table.name, column.name)
        cipher = self._ciphers.get(key)
        if cipher is None:
            cipher = self._ciphers[key] = ColumnCipher(self.column_aad(table, column), self.data_keys.values())
        return cipher

    def seal(self, table: Table, column: Column, record_id: str, value: Any) -> str:
        return self.sealer(table, column).seal_text(to_plaintext(value), encode_part(record_id))

    def open(self, table: Table, column: Column, record_id: str, stored: Any) -> Any:
        if not column.encrypted or stored is None:
            return stored
        return self.open_sealed(table, column, record_id, stored)

    def open_sealed(
        self, table: Table, column: Column, record_id: str, stored: str, record_part: bytes | None = None
    ) -> Any:
        """Open one stored ciphertext; a value that does not open is audited and refused, never returned.
        (Per-row loops pass ``record_part``, the record id's AAD part, encoded once per row.)"""
        try:
            return from_plaintext(self.opener(table, column).open_text(stored, record_part or encode_part(record_id)))
        except (CiphertextIntegrityError, ValueError, TypeError) as exc:
            raise self.integrity_failure(table, column, record_id) from exc

    def integrity_failure(self, table: Table, column: Column, record_id: str) -> IntegrityFailure:
        """Audit a value that failed its integrity check and say so (the event outlives the failing
        request's rollback: ``append_refusal``)."""
        error = IntegrityFailure(
            f"Record {record_id} column {column.name} failed its integrity check; nothing was returned."
        )
        append_refusal(error, _integrity_event(self, table, column, record_id))
        return error

    def digest(self, table: Table, column: Column, value: Any) -> str:
        return blind_index(
            self.index_key, table=table.name, column=column.name, data_type=column.data_type, value=value
        )

    def tokenizer(self, table: Table, column: Column, kind: str | None = None) -> Tokenizer:
        """The column's token generator (``kind`` overrides its tokenization: the tokenize endpoint
        issues UUID tokens for a group whose column itself stores none)."""
        group = column.column_group or f"{table.name}.{column.name}"
        kind = kind or column.tokenization
        return Tokenizer(
            kind,
            data_type=column.data_type,
            column_group=group,
            key=self.index_key.column_key("tokenization", group),
            token_ttl_minutes=column.token_ttl_minutes,
            keep_leading=6 if kind == "FORMAT_PRESERVING" and column.data_type == "card_number" else 0,
            keep_trailing=4 if kind == "FORMAT_PRESERVING" and column.data_type == "card_number" else 0,
        )


_plans_lock = threading.Lock()
_plans: dict[tuple[str, str], tuple[int, tuple[Table, dict[str, Column]]]] = {}


def _table_plan(vault: Vault, name: str, version: int) -> tuple[Table, dict[str, Column]]:
    """A table and its columns, cached per process until the schema changes (which bumps the same
    shared version key as policies do)."""
    key = (str(vault.pk), name)
    hit = _plans.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    table = Table.objects.filter(vault=vault, name=name).first()
    if table is None:
        raise NotFound(f"No table {name} in vault {vault.id}.")
    columns = {c.name: c for c in Column.objects.filter(table=table).order_by("position", "name")}
    with _plans_lock:
        if len(_plans) > 4096:
            _plans.clear()
        _plans[key] = (version, (table, columns))
    return table, columns


def _integrity_event(access: VaultAccess, table: Table, column: Column, record_id: str) -> tuple[Any, ...]:
    return event_fields(
        actor=access.actor,
        action="record.integrity_error",
        resource_type="RECORD",
        resource_ids=[record_id],
        vault_id=str(access.vault.id),
        table=table.name,
        columns=[column.name],
        decision="DENY",
        details={"reason": "ciphertext does not open under its binding"},
    )


def _policy_ids(decision: Decision) -> list[str]:
    return sorted({ref.policy_id for ref in decision.statements})


def _deny(
    access: VaultAccess,
    action: str,
    table: str,
    columns: Iterable[str],
    decision: Decision | None,
    message: str,
    status: int = 403,
) -> VaultError:
    error = Forbidden(message) if status == 403 else NotFound(message)
    append_refusal(
        error,
        event_fields(
            actor=access.actor,
            action=f"record.{action}",
            resource_type="RECORD",
            vault_id=str(access.vault.id),
            table=table,
            columns=list(columns),
            decision="DENY",
            http_status=status,
            policy_ids=_policy_ids(decision) if decision else [],
            details={"reason": message},
        ),
    )
    return error


# --- writes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    skyflow_id: str
    tokens: dict[str, str]


def _check_columns(table: Table, columns: Mapping[str, Column], names: Iterable[str]) -> None:
    unknown = sorted(set(names) - set(columns))
    if unknown:
        raise BadRequest(f"Table {table.name} has no column(s) {', '.join(unknown)}.")


def _values(
    table: Table, columns: Mapping[str, Column], fields: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    _check_columns(table, columns, fields)
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, raw in fields.items():
        column = columns[name]
        try:
            value = coerce(raw, column.data_type, name)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if value is not None and column.validation:
            text = value if isinstance(value, str) else str(value)
            if not all(re.search(pattern, text) for pattern in column.validation):
                problems.append(f"{name}: does not match the column's validation rules.")
                continue
        if value is None and column.required:
            problems.append(f"{name}: is required.")
            continue
        out[name] = value
    if creating:
        missing = [c.name for c in columns.values() if c.required and c.name not in fields]
        problems.extend(f"{name}: is required." for name in missing)
    if problems:
        raise BadRequest("Invalid record: " + " ".join(problems), details=[{"message": p} for p in problems])
    return out


def _comparable_row(columns: Mapping[str, Column], values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as row conditions compare them (emails compare as the blind index does: lowercased)."""
    row = dict(values)
    for name, value in values.items():
        if isinstance(value, str) and columns[name].data_type == "email":
            row[name] = value.lower()
    return row


def _stored_row(access: VaultAccess, table: Table, columns: Mapping[str, Column], record: Record) -> dict[str, Any]:
    return {
        name: access.open(table, columns[name], str(record.pk), value)
        for name, value in record.data.items()
        if name in columns
    }


def _index_rows(
    access: VaultAccess, table: Table, columns: Mapping[str, Column], record_id: Any, values: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """The record's blind-index rows, as ``_INDEX_FIELDS`` values."""
    rows = []
    for name, value in values.items():
        column = columns[name]
        if value is None or not ((column.encrypted and column.searchable) or column.unique):
            continue
        try:
            digest = access.digest(table, column, value)
        except BlindIndexValueError as exc:
            raise BadRequest(f"{name}: {exc}") from exc
        rows.append((column.pk, record_id, digest, column.unique))
    return rows


def _brought_tokens(
    columns: Mapping[str, Column], values: Mapping[str, Any], tokens: Mapping[str, Any], byot: str, where: str = ""
) -> list[str]:
    """What is wrong with a record's own tokens (bring-your-own-token) under ``byot``: ``DISABLE``
    takes none; ``ENABLE`` takes one for any value of a tokenized column (the others are issued);
    ``ENABLE_STRICT`` needs one for every value of a column that could take one."""
    if byot == "DISABLE":
        if tokens:
            return [f"{where}tokens were sent but byot is DISABLE; send byot ENABLE or ENABLE_STRICT to use them."]
        return []
    problems = []
    for name, token in tokens.items():
        column = columns.get(name)
        if column is None:
            problems.append(f"{where}tokens.{name}: no such column.")
        elif values.get(name) is None:
            problems.append(f"{where}tokens.{name}: the record has no value for {name}.")
        elif problem := brought_token_problem(column.tokenization, token):
            problems.append(f"{where}tokens.{name}: {problem}.")
    if byot == "ENABLE_STRICT":
        missing = [
            name
            for name, value in values.items()
            if value is not None
            and columns[name].tokenization not in ("NONE", "DETERMINISTIC_UUID")
            and name not in tokens
        ]
        if missing:
            needed = ", ".join(missing)
            problems.append(f"{where}byot ENABLE_STRICT needs a token for every tokenized value; none for {needed}.")
    return problems


def _taken(
    access: VaultAccess,
    table: Table,
    columns: Mapping[str, Column],
    rows: Sequence[Mapping[str, Any]],
    tokens: Iterable[str],
    *,
    where: bool = True,
) -> Conflict:
    """The answer when a write hit a uniqueness rule: which brought tokens are taken, or which unique
    values another record (or another record of this request) already holds — names, never values.
    Asked after the failed statement's savepoint rolled back."""
    taken = sorted(set(Token.objects.filter(token__in=list(tokens)).values_list("token", flat=True)))
    if taken:
        return Conflict(f"These tokens are already in use: {', '.join(taken)}.")
    problems: list[str] = []
    first: dict[tuple[int, str], str] = {}
    wanted: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for index, values in enumerate(rows):
        for name, value in values.items():
            column = columns[name]
            if value is None or not column.unique:
                continue
            place = f"records[{index}].{name}" if where else name
            key = (column.pk, access.digest(table, column, value))
            if key in first:
                problems.append(f"{place}: the same value as {first[key]} ({name} is unique).")
                continue
            first[key] = place
            wanted.setdefault(key, []).append((place, name))
    if wanted:
        held = BlindIndex.objects.filter(
            is_unique=True, column_id__in={c for c, _ in wanted}, digest__in={d for _, d in wanted}
        ).values_list("column_id", "digest")
        for key in held:
            for place, name in wanted.get(key, []):
                problems.append(f"{place}: another record already holds this value ({name} is unique).")
    if not problems:
        return Conflict("A unique column already holds one of these values.")
    return Conflict("Unique value(s) already taken. " + " ".join(problems), details=[{"message": p} for p in problems])


def _store_token(
    access: VaultAccess, column: Column, record_id: Any, issued: IssuedToken, tokenizer: Tokenizer
) -> Token:
    return Token.objects.create(
        token=issued.token,
        vault=access.vault,
        column=column,
        record_id=record_id,
        column_group=tokenizer.column_group,
        expires_at=issued.expires_at,
    )


def _tokens_for(
    access: VaultAccess,
    table: Table,
    columns: Mapping[str, Column],
    record_id: Any,
    values: Mapping[str, Any],
    brought: Mapping[str, str] | None = None,
) -> dict[str, str]:
    issued: dict[str, str] = {}
    for name, value in values.items():
        column = columns[name]
        if value is None or column.tokenization == "NONE":
            continue
        tokenizer = access.tokenizer(table, column)
        if brought and name in brought:
            # Taken already: an IntegrityError for the caller (a brought token is never replaced).
            issued[name] = _store_token(access, column, record_id, tokenizer.brought(brought[name]), tokenizer).token
            continue
        text = value if isinstance(value, str) else str(value)
        for candidate in tokenizer.candidates(text):
            if column.tokenization == "DETERMINISTIC_UUID":
                token, _ = Token.objects.get_or_create(
                    token=candidate.token,
                    defaults={
                        "vault": access.vault,
                        "column": column,
                        "column_group": tokenizer.column_group,
                        "value_sealed": _seal_token_value(access, tokenizer.column_group, candidate.token, value),
                    },
                )
                issued[name] = token.token
                break
            try:
                with transaction.atomic():
                    _store_token(access, column, record_id, candidate, tokenizer)
            except IntegrityError:
                continue  # taken: the next candidate
            issued[name] = candidate.token
            break
    return issued


# What the insert path writes with one executemany each (vaultstudio.db.insert_many).
_RECORD_FIELDS = ["id", "table", "data", "created_at", "updated_at", "created_by"]
_INDEX_FIELDS = ["column", "record", "digest", "is_unique"]
_TOKEN_FIELDS = [
    "token",
    "vault",
    "column",
    "record",
    "column_group",
    "value_sealed",
    "expires_at",
    "created_at",
]


def _tokens_bulk(
    access: VaultAccess,
    table: Table,
    columns: Mapping[str, Column],
    record_ids: Sequence[Any],
    prepared: Sequence[Mapping[str, Any]],
    now: Any,
    brought: Sequence[Mapping[str, str]],
) -> list[dict[str, str]]:
    """Tokens for many new records in one INSERT; a collision (rare: random tokens) falls back to
    taking candidates one by one for every record. ``brought``: each record's own tokens."""
    tokenized = [c for c in columns.values() if c.tokenization not in ("NONE", "DETERMINISTIC_UUID")]

    def one_by_one() -> list[dict[str, str]]:
        return [
            _tokens_for(access, table, columns, r, v, b) for r, v, b in zip(record_ids, prepared, brought, strict=True)
        ]

    if any(c.tokenization == "DETERMINISTIC_UUID" for c in columns.values()):
        return one_by_one()
    issued: list[dict[str, str]] = []
    rows: list[tuple[Any, ...]] = []
    vault_id = access.vault.pk
    steps = [(c.name, c.pk, access.tokenizer(table, c)) for c in tokenized]
    for record_id, values, own in zip(record_ids, prepared, brought, strict=True):
        mine: dict[str, str] = {}
        for name, column_id, tokenizer in steps:
            value = values.get(name)
            if value is None:
                continue
            if name in own:
                candidate = tokenizer.brought(own[name])
            else:
                candidate = tokenizer.issue(value if isinstance(value, str) else str(value))
            mine[name] = candidate.token
            rows.append(
                (
                    candidate.token,
                    vault_id,
                    column_id,
                    record_id,
                    tokenizer.column_group,
                    "",
                    candidate.expires_at,
                    now,
                )
            )
        issued.append(mine)
    try:
        with transaction.atomic():
            insert_many(Token, _TOKEN_FIELDS, rows)
    except IntegrityError:
        return one_by_one()
    return issued


def _seal_token_value(access: VaultAccess, group: str, token: str, value: Any) -> str:
    aad = keys.token_value_aad(str(access.vault.id), group, token)
    return seal_text(access.active_key, to_plaintext(value), aad=aad)


def _open_token_value(access: VaultAccess, group: str, token: str, sealed: str) -> Any:
    aad = keys.token_value_aad(str(access.vault.id), group, token)
    try:
        return from_plaintext(open_text(access.data_keys[key_version_of_text(sealed)], sealed, aad=aad))
    except (CiphertextIntegrityError, KeyError, ValueError) as exc:
        raise IntegrityFailure("A token's stored value failed its integrity check; nothing was returned.") from exc


def records_insert(
    access: VaultAccess,
    table_name: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    tokenization: bool,
    tokens: Sequence[Mapping[str, Any]] | None = None,
    byot: str = "DISABLE",
) -> list[Written]:
    """Insert records (all or nothing), checking CREATE per record against its new values.
    ``tokens``: each record's own tokens, taken as ``byot`` says (``_brought_tokens``)."""
    table, columns = access.table(table_name)
    named = sorted({name for row in rows for name in row})
    _check_columns(table, columns, named)
    decision = access.decide("CREATE", table_name, named)
    if not decision.allowed:
        raise _deny(
            access,
            "insert",
            table_name,
            named,
            decision,
            f"Not allowed to create records in {table_name} with column(s) {', '.join(named)}.",
        )
    brought = list(tokens) if tokens is not None else [{} for _ in rows]
    prepared = []
    for index, (row, own) in enumerate(zip(rows, brought, strict=True)):
        values = _values(table, columns, row, creating=True)
        problems = _brought_tokens(columns, values, own, byot, f"records[{index}]." if len(rows) > 1 else "")
        if problems:
            raise BadRequest("Invalid tokens: " + " ".join(problems), details=[{"message": p} for p in problems])
        if not row_matches(decision.row_filter, _comparable_row(columns, values)):
            raise _deny(
                access,
                "insert",
                table_name,
                named,
                decision,
                "Not allowed to create a record with these values (a policy condition is not met).",
            )
        prepared.append(values)
    every = [token for own in brought for token in own.values()]
    if len(set(every)) < len(every):
        twice = sorted({token for token in every if every.count(token) > 1})
        raise BadRequest(f"Each token may stand for one value only; given more than once: {', '.join(twice)}.")
    written: list[Written] = []
    try:
        with transaction.atomic():
            # Rows as tuples, not model instances: a Record per row cost more than sealing its values.
            now = timezone.now()
            created_by = access.actor.display[:255]
            sealers = {name: access.sealer(table, c) for name, c in columns.items() if c.encrypted}
            record_ids = [uuid.uuid4() for _ in prepared]
            record_rows = []
            for record_id, values in zip(record_ids, prepared, strict=True):
                record_part = encode_part(str(record_id))
                data = {}
                for name, value in values.items():
                    sealer = sealers.get(name)
                    data[name] = (
                        value if sealer is None or value is None else sealer.seal_text(to_plaintext(value), record_part)
                    )
                record_rows.append((record_id, table.pk, data, now, now, created_by))
            insert_many(Record, _RECORD_FIELDS, record_rows)
            index_rows: list[tuple[Any, ...]] = []
            for record_id, values in zip(record_ids, prepared, strict=True):
                index_rows.extend(_index_rows(access, table, columns, record_id, values))
            insert_many(BlindIndex, _INDEX_FIELDS, index_rows)
            issued_tokens = _tokens_bulk(access, table, columns, record_ids, prepared, now, brought)
            for record_id, issued in zip(record_ids, issued_tokens, strict=True):
                written.append(Written(str(record_id), issued if tokenization else {}))
            audit_append(
                actor=access.actor,
                action="record.insert",
                resource_type="RECORD",
                resource_ids=[w.skyflow_id for w in written],
                vault_id=str(access.vault.id),
                table=table_name,
                columns=named,
                record_count=len(written),
                decision="ALLOW",
                policy_ids=_policy_ids(decision),
            )
    except IntegrityError as exc:
        raise _taken(access, table, columns, prepared, [t for own in brought for t in own.values()]) from exc
    except TokenCollisionError as exc:
        raise Conflict(f"No free token for a value: {exc}") from exc
    return written


def records_upsert(
    access: VaultAccess,
    table_name: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    upsert: str,
    tokenization: bool,
    tokens: Sequence[Mapping[str, Any]] | None = None,
    byot: str = "DISABLE",
) -> list[Written]:
    """Insert each record, or update the record that already holds its value in the unique column
    ``upsert`` (all or nothing): new records need CREATE, existing ones UPDATE, as each would alone.

    Found through the column's unique blind index, so it works on encrypted columns too. Two records
    of one request with the same value are refused (which should win is not the server's guess).
    """
    table, columns = access.table(table_name)
    key = columns.get(upsert)
    if key is None:
        raise BadRequest(f"upsert names {upsert}, which is not a column of {table_name}.")
    if not key.unique:
        raise BadRequest(f"upsert needs a unique column; {table_name}.{upsert} is not unique.")
    brought = list(tokens) if tokens is not None else [{} for _ in rows]
    digests: list[str] = []
    for index, row in enumerate(rows):
        where = f"records[{index}]" if len(rows) > 1 else "The record"
        if row.get(upsert) is None:
            raise BadRequest(f"{where} has no value for the upsert column {upsert}.")
        try:
            value = coerce(row[upsert], key.data_type, upsert)
            digests.append(access.digest(table, key, value))
        except (ValueError, BlindIndexValueError) as exc:
            raise BadRequest(f"{where}: {exc}") from exc
    if len(set(digests)) < len(digests):
        raise BadRequest(f"Two records of this request have the same {upsert}: send them in separate requests.")
    with transaction.atomic():
        found = dict(
            BlindIndex.objects.filter(column=key, digest__in=digests, is_unique=True)
            .select_for_update()
            .values_list("digest", "record_id")
        )
        new = [i for i, digest in enumerate(digests) if digest not in found]
        inserted = iter(
            records_insert(
                access,
                table_name,
                [rows[i] for i in new],
                tokenization=tokenization,
                tokens=[brought[i] for i in new],
                byot=byot,
            )
            if new
            else []
        )
        out = []
        for row, own, digest in zip(rows, brought, digests, strict=True):
            if digest not in found:
                out.append(next(inserted))
                continue
            try:
                out.append(
                    record_update(
                        access, table_name, str(found[digest]), row, tokenization=tokenization, tokens=own, byot=byot
                    )
                )
            except NotFound as exc:
                # The record is there but not this caller's to update: say so without its id.
                raise Forbidden(f"A record with this {upsert} exists and you are not allowed to update it.") from exc
    return out


class _Refusal(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _find_for_write(access: VaultAccess, table: Table, decision: Decision, record_id: str) -> Record:
    query = Record.objects.filter(table=table, pk=parse_uuid(record_id))
    if decision.allowed and decision.row_filter != ast.TRUE:
        query = query.filter(access.row_filter(table.name).q(decision.row_filter))
    record = query.select_for_update().first() if decision.allowed and parse_uuid(record_id) else None
    if record is None:
        raise NotFound(f"No record {record_id} in {table.name}.")
    return record


def record_update(
    access: VaultAccess,
    table_name: str,
    record_id: str,
    fields: Mapping[str, Any],
    *,
    tokenization: bool,
    tokens: Mapping[str, Any] | None = None,
    byot: str = "DISABLE",
) -> Written:
    """Change columns of one record: the row must match UPDATE's conditions before and after.
    ``tokens``: the record's own tokens for changed values, taken as ``byot`` says."""
    table, columns = access.table(table_name)
    values = _values(table, columns, fields, creating=False)
    problems = _brought_tokens(columns, values, tokens or {}, byot)
    if problems:
        raise BadRequest("Invalid tokens: " + " ".join(problems), details=[{"message": p} for p in problems])
    decision = access.decide("UPDATE", table_name, list(values))
    try:
        with transaction.atomic():
            record = _find_for_write(access, table, decision, record_id)
            after = {**_stored_row(access, table, columns, record), **values}
            if not row_matches(decision.row_filter, _comparable_row(columns, after)):
                raise _Refusal("Not allowed: after this change the record would no longer match the policy.", 403)
            for name, value in values.items():
                column = columns[name]
                sealed = column.encrypted and value is not None
                record.data[name] = access.seal(table, column, str(record.pk), value) if sealed else value
            record.save(update_fields=["data", "updated_at"])
            changed = [columns[name] for name in values]
            BlindIndex.objects.filter(record=record, column__in=changed).delete()
            try:
                with transaction.atomic():
                    insert_many(BlindIndex, _INDEX_FIELDS, _index_rows(access, table, columns, record.pk, values))
            except IntegrityError as exc:
                raise _taken(access, table, columns, [values], [], where=False) from exc
            Token.objects.filter(record=record, column__in=changed).delete()
            try:
                with transaction.atomic():
                    issued = _tokens_for(access, table, columns, record.pk, values, tokens)
            except IntegrityError as exc:
                raise _taken(access, table, columns, [values], (tokens or {}).values(), where=False) from exc
            audit_append(
                actor=access.actor,
                action="record.update",
                resource_type="RECORD",
                resource_ids=[str(record.pk)],
                vault_id=str(access.vault.id),
                table=table_name,
                columns=sorted(values),
                record_count=1,
                decision="ALLOW",
                policy_ids=_policy_ids(decision),
            )
    except NotFound as exc:
        raise _deny(access, "update", table_name, list(values), decision, exc.message, 404) from exc
    except _Refusal as refusal:
        # Audited after the transaction rolled back, so the refusal itself stays on record.
        raise _deny(access, "update", table_name, list(values), decision, refusal.message, refusal.status) from refusal
    return Written(str(record.pk), issued if tokenization else {})


def records_delete(
    access: VaultAccess, table_name: str, record_ids: Sequence[str] | None, *, single: bool = False
) -> list[str]:
    """Delete records (``None``: every record the caller may delete). Unknown or not allowed ids are
    left out of the answer; with ``single`` (one id) they are a 404, whose event outlives a batch's
    rollback as a refusal's does."""
    table, _ = access.table(table_name)
    decision = access.decide("DELETE", table_name)
    with transaction.atomic():
        query = Record.objects.filter(table=table)
        if record_ids is not None:
            query = query.filter(pk__in=[u for u in (parse_uuid(i) for i in record_ids) if u])
        if not decision.allowed:
            ids: list[str] = []
        else:
            if decision.row_filter != ast.TRUE:
                query = query.filter(access.row_filter(table_name).q(decision.row_filter))
            ids = [str(pk) for pk in query.values_list("pk", flat=True)]
            Record.objects.filter(pk__in=ids).delete()
        event = event_fields(
            actor=access.actor,
            action="record.delete",
            resource_type="RECORD",
            resource_ids=ids,
            vault_id=str(access.vault.id),
            table=table_name,
            record_count=len(ids),
            decision="ALLOW" if ids else "DENY",
            policy_ids=_policy_ids(decision),
        )
        if single and not ids:
            missing = NotFound(f"No record {record_ids[0] if record_ids else ''} in {table_name}.")
            append_refusal(missing, event)
            raise missing
        append_fields(event)
    return ids


# --- reads ------------------------------------------------------------------------------------------


def _row_plan(
    plans: Sequence[tuple[str, Column, list[tuple[str, ast.Condition]]]],
    row: Sequence[Any] | None,
    level_index: Mapping[str, int],
    request: ReadRequest,
    maskers: Mapping[str, Any],
) -> list[tuple[str, str, Any, str]]:
    """The (column, level, masker, data type) plan of one row (or of every row, when no level varies)."""
    plan = []
    for name, column, grants in plans:
        if name in level_index:
            assert row is not None
            index = row[level_index[name]]
            if index < 0:
                continue
            level = grants[index][0]
        else:
            level = grants[0][0] if grants else REDACTED
        if request.tokenization:
            if column.tokenization == "NONE":
                continue
            level = TOKEN
        else:
            level = _cap(level, request.redaction, column)
        plan.append((name, level, maskers[name], column.data_type))
    return plan


def _cap(level: str, requested: str | None, column: Column) -> str:
    """The level a requested redaction allows at most (DEFAULT = the column's default level)."""
    wanted = column.default_redaction if requested in (None, "DEFAULT") else requested
    return LEVEL_ORDER[max(LEVEL_ORDER.index(level), LEVEL_ORDER.index(wanted))]


@dataclass(frozen=True)
class ReadRequest:
    record_ids: tuple[str, ...] = ()
    column_name: str | None = None
    column_values: tuple[Any, ...] = ()
    filters: tuple[tuple[str, Any], ...] = ()
    fields: tuple[str, ...] | None = None
    redaction: str | None = None
    tokenization: bool = False
    offset: int = 0
    limit: int = 25
    order_by: str = "NONE"


def _equality(access: VaultAccess, table: Table, columns: Mapping[str, Column], name: str, values: Sequence[Any]) -> Q:
    column = columns.get(name)
    if column is None:
        raise BadRequest(f"Table {table.name} has no column {name}.")
    coerced = []
    for value in values:
        try:
            coerced.append(coerce(value, column.data_type, name))
        except ValueError:
            continue  # a value the column can never hold matches nothing
    if column.encrypted:
        if not column.searchable:
            raise BadRequest(f"{name} is encrypted and not searchable: it cannot be looked up by value.")
        digests = []
        for value in coerced:
            try:
                digests.append(access.digest(table, column, value))
            except BlindIndexValueError:
                continue
        return Q(pk__in=BlindIndex.objects.filter(column=column, digest__in=digests).values("record_id"))
    out = Q(pk__isnull=True)
    for value in coerced:
        out |= Q(**{f"data__{name}": value})
    return out


@dataclass(frozen=True)
class _ReadPlan:
    """A read's query and per-column plan, for one decision over one table.

    ``sql`` (None: no row can match) ends in ``LIMIT %s OFFSET %s``; its other parameters are
    ``params``. Rows are ``(id, data, level index per column in level_index…)``. ``columns``:
    each granted column with its reachable (level, condition) grants, most revealing first.
    """

    sql: str | None
    params: tuple[Any, ...]
    columns: list[tuple[str, Column, list[tuple[str, ast.Condition]]]]
    level_index: dict[str, int]
    maskers: dict[str, Any]
    decision: Decision  # held so that the id() in the memo key cannot be reused while the entry lives


_read_plans: VersionedMemo[_ReadPlan] = VersionedMemo()


def _read_plan(
    access: VaultAccess, table: Table, columns: Mapping[str, Column], decision: Decision, request: ReadRequest
) -> _ReadPlan:
    """The read's plan; a plain page (no ids, lookups or filters: the bulk get) is built once per
    decision and version, since everything in it follows from the decision, the schema and the keys."""
    if request.record_ids or request.column_name or request.filters:
        return _build_read_plan(access, table, columns, decision, request)
    key = (access.vault.pk, table.name, id(decision), request.order_by)
    plan = _read_plans.get(key, access.version, lambda: _build_read_plan(access, table, columns, decision, request))
    if plan.decision is not decision:  # another decision under a reused id: not this one's plan
        plan = _build_read_plan(access, table, columns, decision, request)
    return plan


def _build_read_plan(
    access: VaultAccess, table: Table, columns: Mapping[str, Column], decision: Decision, request: ReadRequest
) -> _ReadPlan:
    table_name = table.name
    query: QuerySet[Record] = Record.objects.filter(table=table)
    if request.record_ids:
        query = query.filter(pk__in=[u for u in (parse_uuid(i) for i in request.record_ids) if u])
    if request.column_name:
        query = query.filter(_equality(access, table, columns, request.column_name, request.column_values))
    for name, value in request.filters:
        if name == "skyflow_id" and name not in columns:
            # Skyflow's own query example is ``SELECT * FROM cards WHERE skyflow_id='…'``.
            record_id = parse_uuid(str(value))
            query = query.filter(pk=record_id) if record_id else query.none()
            continue
        query = query.filter(_equality(access, table, columns, name, [value]))
    if not decision.allowed:
        query = query.none()
    elif decision.row_filter != ast.TRUE:
        query = query.filter(access.row_filter(table_name).q(decision.row_filter))
    # Per-row levels: conditions that are not constant are evaluated by the database, one CASE each.
    # A level that holds exactly where the row filter holds needs no CASE: the rows are filtered already.
    row_filter_json = condition_to_json(decision.row_filter)
    annotations: dict[str, Any] = {}
    level_keys: dict[str, str] = {}
    plans: list[tuple[str, Column, list[tuple[str, ast.Condition]]]] = []
    for name, column_decision in decision.columns.items():
        grants: list[tuple[str, ast.Condition]] = []
        for grant in column_decision.levels:
            condition = grant.condition
            if condition != ast.TRUE and condition_to_json(condition) == row_filter_json:
                condition = ast.TRUE
            grants.append((grant.level, condition))
            if condition == ast.TRUE:
                break  # later (less revealing) levels can never be reached
        plans.append((name, columns[name], grants))
        if any(condition != ast.TRUE for _, condition in grants):
            whens = [When(access.row_filter(table_name).q(cond), then=Value(i)) for i, (_, cond) in enumerate(grants)]
            level_keys[name] = f"_level_{len(level_keys)}"
            annotations[level_keys[name]] = Case(*whens, default=Value(-1), output_field=IntegerField())
    if annotations:
        query = query.annotate(**annotations)
    order = {"ASCENDING": ["created_at", "pk"], "DESCENDING": ["-created_at", "-pk"]}.get(request.order_by, ["pk"])
    # Tuples, not model instances: a model per row costs more than decrypting its values.
    selected = query.order_by(*order).values_list("pk", "data", *level_keys.values())
    compiler = selected.query.get_compiler(connection=connection)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        sql, params = None, ()
    return _ReadPlan(
        sql=None if sql is None else f"{sql} LIMIT %s OFFSET %s",
        params=tuple(params),
        columns=plans,
        level_index={name: 2 + i for i, name in enumerate(level_keys)},
        maskers={name: compile_masking(column.masking or None, column.data_type) for name, column, _ in plans},
        decision=decision,
    )


def _uuid_text(value: Any) -> str:
    """A record id as the API spells it (SQLite hands back the 32 hex digits it stores)."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return str(value)


def records_read(
    access: VaultAccess, table_name: str, request: ReadRequest, *, single: bool = False, action_name: str = "read"
) -> list[dict[str, Any]]:
    """Records as the caller may see them: ``[{"fields": {...}, "tokens": {...}?}]``."""
    table, columns = access.table(table_name)
    # skyflow_id is the record's id, not a schema column (Skyflow's SDKs name it in fields and in
    # SELECT): every record carries it anyway, so it is dropped here; naming only it reads as no
    # fields given, i.e. every column the policies allow.
    wanted = tuple(f for f in request.fields if f != "skyflow_id") if request.fields else None
    if wanted:
        _check_columns(table, columns, wanted)
    decision = access.decide("READ", table_name, list(wanted) if wanted else None, request.redaction)
    if decision.denied_columns:
        raise _deny(
            access,
            action_name,
            table_name,
            decision.denied_columns,
            decision,
            f"Not allowed to read column(s) {', '.join(decision.denied_columns)} of {table_name}.",
        )
    plan = _read_plan(access, table, columns, decision, request)
    rows: list[tuple[Any, ...]] = []
    if plan.sql is not None:
        # Raw, from the prepared statement: building and compiling the ORM query cost more than running it.
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, [*plan.params, request.limit, request.offset])
            rows = cursor.fetchall()
    ids = [_uuid_text(row[0]) for row in rows]
    tokens_by_record: dict[str, dict[str, str]] = {}
    if request.tokenization and rows:
        live = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        for record_id, column_name, token in Token.objects.filter(live, record_id__in=ids).values_list(
            "record_id", "column__name", "token"
        ):
            tokens_by_record.setdefault(str(record_id), {})[column_name] = token
    # Per distinct row plan: its renderer and the columns to open (with their ciphers).
    prepared: dict[tuple[Any, ...], tuple[Any, list[tuple[str, Column, ColumnCipher | None]]]] = {}

    def prepare(row_plan: list[tuple[str, str, Any, str]]) -> tuple[Any, list[tuple[str, Column, ColumnCipher | None]]]:
        key = tuple(row_plan)
        found = prepared.get(key)
        if found is None:
            found = prepared[key] = (
                make_row_renderer(row_plan),
                [
                    (name, columns[name], access.opener(table, columns[name]) if columns[name].encrypted else None)
                    for name, level, _, _ in row_plan
                    if level in (PLAIN_TEXT, MASKED)
                ],
            )
        return found

    # First the rows to answer and how to render each (cheap, and it may still read key rows), so
    # that the audit event, which names them, can be sent before the values are opened.
    chosen: list[tuple[tuple[Any, ...], str, Any, list[tuple[str, Column, ColumnCipher | None]]]] = []
    # When no level varies by row, one plan serves every row: prepared once, not looked up per row.
    if not plan.level_index:
        fixed_plan = _row_plan(plan.columns, None, plan.level_index, request, plan.maskers)
        if fixed_plan:
            renderer, to_open = prepare(fixed_plan)
            chosen = [(row, record_id, renderer, to_open) for row, record_id in zip(rows, ids, strict=True)]
    else:
        for row, record_id in zip(rows, ids, strict=True):
            row_plan = _row_plan(plan.columns, row, plan.level_index, request, plan.maskers)
            if row_plan:
                chosen.append((row, record_id, *prepare(row_plan)))
    event = event_fields(
        actor=access.actor,
        action=f"record.{action_name}",
        resource_type="RECORD",
        resource_ids=[record_id for _, record_id, _, _ in chosen[:1000]],
        vault_id=str(access.vault.id),
        table=table_name,
        columns=[name for name, _, _ in plan.columns],
        record_count=len(chosen),
        decision="ALLOW" if decision.allowed else "DENY",
        policy_ids=_policy_ids(decision),
        details={"redaction": request.redaction or "DEFAULT", "tokenization": request.tokenization},
    )
    if single and not chosen:
        # Refused or absent alike: the event goes with the error, past a batch's rollback.
        missing = NotFound(f"No record {request.record_ids[0] if request.record_ids else ''} in {table_name}.")
        append_refusal(missing, event)
        raise missing
    out: list[dict[str, Any]] = []
    failed: tuple[Column, str, Exception] | None = None
    # The event is written while the values are opened (on PostgreSQL its round trip and commit
    # overlap the decryption); nothing is answered until it is durable. A value that fails its
    # integrity check is audited after the read's event, under the same request id.
    with appending(event):
        for row, record_id, renderer, to_open in chosen:
            if request.tokenization:
                source = tokens_by_record.get(record_id, {})
            else:
                data = row[1]
                if isinstance(data, str):
                    data = _decode_json(data)
                source = {}
                record_part = encode_part(record_id)
                for name, column, cipher in to_open:
                    stored = data.get(name)
                    if cipher is None or stored is None:
                        source[name] = stored
                        continue
                    try:
                        source[name] = from_plaintext(cipher.open_text(stored, record_part))
                    except (CiphertextIntegrityError, ValueError, TypeError) as exc:
                        failed = (column, record_id, exc)
                        break
                if failed:
                    break
            fields = renderer(source)
            fields["skyflow_id"] = record_id
            out.append({"fields": fields})
    if failed:
        column, record_id, exc = failed
        raise access.integrity_failure(table, column, record_id) from exc
    return out


# --- tokens -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detokenized:
    token: str
    value_type: str | None = None
    value: str | None = None
    error: str | None = None


def _condition_columns(grant: Any) -> set[str]:
    """The columns a grant's level conditions read: only those need decrypting to decide a row."""
    names: set[str] = set()
    stack: list[ast.Condition] = [g.condition for g in grant.levels]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.And | ast.Or):
            stack.extend(node.args)
        elif isinstance(node, ast.Not):
            stack.append(node.arg)
        elif isinstance(node, ast.Compare):
            names.update(o.column for o in (node.left, node.right) if isinstance(o, ast.ColumnRef))
        elif isinstance(node, ast.In | ast.IsNull | ast.Like) and isinstance(node.operand, ast.ColumnRef):
            names.add(node.operand.column)
    return names


@dataclass
class _DetokenizeStep:
    """What detokenizing a token of one column at one requested redaction needs, prepared once per request."""

    table: Table
    column: Column
    columns: Mapping[str, Column]  # the table's
    redaction: str
    grant: Any  # the column's ColumnDecision, or None: not allowed
    policy_ids: list[str]
    # Columns the grant's level conditions read, sorted (empty: the first level holds on every row).
    condition_columns: tuple[str, ...]
    # The record members to read: the token's column first, then the condition columns.
    names: tuple[str, ...]
    members: tuple[int, tuple[str, ...]]  # (table id, names): the records query that reads them
    sealed: tuple[tuple[int, Column], ...]  # which of them are encrypted, by position
    masker: Any
    used: bool = False  # a token was answered under this decision: its policies go to the audit event
    levels: dict[tuple[Any, ...], str | None] = field(default_factory=dict)  # condition values → level
    capped: dict[str, str] = field(default_factory=dict)  # granted level → level at this redaction

    def cap(self, level: str) -> str:
        capped = self.capped.get(level)
        if capped is None:
            capped = self.capped[level] = _cap(level, self.redaction, self.column)
        return capped


def _detokenize_step(access: VaultAccess, column: Column, table: Table, redaction: str) -> _DetokenizeStep:
    decision = access.decide("DETOKENIZATION", table.name, [column.name], redaction)
    grant = decision.columns.get(column.name)
    conditional = grant is not None and not all(g.condition == ast.TRUE for g in grant.levels)
    condition_columns = tuple(sorted(_condition_columns(grant))) if conditional else ()
    _, columns = access.table(table.name)
    names = (column.name, *(n for n in condition_columns if n != column.name))
    return _DetokenizeStep(
        table=table,
        column=column,
        columns=columns,
        redaction=redaction,
        grant=grant,
        policy_ids=_policy_ids(decision),
        condition_columns=condition_columns,
        names=names,
        members=(table.pk, names),
        sealed=tuple((i, columns[n]) for i, n in enumerate(names) if n in columns and columns[n].encrypted),
        masker=compile_masking(column.masking or None, column.data_type),
    )


_vault_columns: VersionedMemo[dict[int, tuple[Table, Column]]] = VersionedMemo()


def _columns_by_id(access: VaultAccess) -> dict[int, tuple[Table, Column]]:
    """The vault's columns by id with their tables, kept per process under the shared version."""

    def load() -> dict[int, tuple[Table, Column]]:
        return {c.pk: (c.table, c) for c in Column.objects.filter(table__vault=access.vault).select_related("table")}

    return _vault_columns.get(access.vault.pk, access.version, load)


def _record_values(
    access: VaultAccess, table: Table, names: Sequence[str], record_ids: Sequence[Any]
) -> dict[Any, tuple[Any, ...]]:
    """``{record id: (stored value per name…)}``: only those members of each record's data, read
    by the database (sealed values as their text), not the whole document parsed per record."""
    _, columns = access.table(table.name)
    selects, params = [], []
    for name in names:
        column = columns.get(name)
        sql, member_params = json_member("r.data", name, text=column is not None and column.encrypted)
        selects.append(sql)
        params += member_params
    records, records_params = rows_matching(record_ids, "uuid", "vaults_record r", "r.id")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {uuid_text('r.id')}, {', '.join(selects)} FROM {records}", params + records_params)
        fetched = cursor.fetchall()
    out = {}
    for row in fetched:
        values = []
        for i, name in enumerate(names):
            column = columns.get(name)
            value, kind = row[1 + 2 * i], row[2 + 2 * i]
            values.append(value if column is not None and column.encrypted else read_json_member(value, kind))
        out[row[0]] = tuple(values)
    return out


def tokens_detokenize(access: VaultAccess, requests: Sequence[tuple[str, str]]) -> list[Detokenized]:
    """Each token's value at most at its DETOKENIZATION level; unknown, expired or not allowed → error.

    Two queries for any number of tokens (the tokens, then the members of their records that the
    answer needs); one decision per (column, redaction); only the token's own column and the columns
    its grant's row conditions read are decrypted, and the level is worked out once per distinct
    set of those condition values.
    """
    columns_by_id = _columns_by_id(access)
    tokens, params = rows_matching(list({token for token, _ in requests}), "text", "vaults_token t", "t.token")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.token, t.column_id, {uuid_text('t.record_id')}, t.column_group, t.value_sealed, t.expires_at "
            f"FROM {tokens} WHERE t.vault_id = %s",
            [*params, Token._meta.get_field("vault").get_db_prep_value(access.vault.pk, connection)],
        )
        found = {row[0]: row for row in cursor.fetchall()}
    steps: dict[tuple[int, str], _DetokenizeStep] = {}

    def step_for(column_id: int, redaction: str) -> _DetokenizeStep | None:
        step = steps.get((column_id, redaction))
        if step is None and column_id in columns_by_id:
            table, column = columns_by_id[column_id]
            step = steps[(column_id, redaction)] = _detokenize_step(access, column, table, redaction)
        return step

    # The members each record must give: the token's column, and what its grant's conditions read.
    wanted: dict[tuple[int, tuple[str, ...]], tuple[Table, dict[Any, None]]] = {}
    for token_text, redaction in requests:
        row = found.get(token_text)
        step = step_for(row[1], redaction) if row is not None and row[1] is not None else None
        if step is None or step.grant is None or row is None or row[2] is None:
            continue
        wanted.setdefault(step.members, (step.table, {}))[1][row[2]] = None
    values = {key: _record_values(access, table, key[1], list(ids)) for key, (table, ids) in wanted.items()}

    now = timezone.now()
    out: list[Detokenized] = []
    allowed_count = 0
    for token_text, redaction in requests:
        row = found.get(token_text)
        step = step_for(row[1], redaction) if row is not None and row[1] is not None else None
        if row is None or step is None or (row[5] is not None and row[5] <= now):
            out.append(Detokenized(token_text, error="Token Not Found"))
            continue
        step.used = True
        grant, column, table = step.grant, step.column, step.table
        if grant is None:
            out.append(Detokenized(token_text, error="Token Not Found"))
            continue
        if row[2] is None:  # a token of the tokenize endpoint: its value is kept with it, sealed
            value = _open_token_value(access, row[3], token_text, row[4])
            level = grant.levels[0].level if not step.condition_columns and grant.levels else None
        else:
            stored = values[step.members].get(row[2])
            if stored is None:  # the record is gone
                out.append(Detokenized(token_text, error="Token Not Found"))
                continue
            opened = list(stored)
            if step.sealed:
                record_id = _uuid_text(row[2])
                record_part = encode_part(record_id)
                for i, sealed_column in step.sealed:
                    if opened[i] is not None:
                        opened[i] = access.open_sealed(table, sealed_column, record_id, opened[i], record_part)
            value = opened[0]
            if not step.condition_columns:
                level = grant.levels[0].level if grant.levels else None
            else:
                by_name = dict(zip(step.names, opened, strict=True))
                comparable = _comparable_row(step.columns, {n: by_name[n] for n in step.condition_columns})
                key = tuple((v.__class__, v) for v in comparable.values())
                try:
                    level = step.levels[key]
                except KeyError:
                    level = step.levels[key] = grant.level_for(comparable)
                except TypeError:  # an unhashable value (JSON list or object): decide without remembering
                    level = grant.level_for(comparable)
        if level is None:
            out.append(Detokenized(token_text, error="Token Not Found"))
            continue
        value_type, text = detokenize_value(value, step.cap(level), step.masker, column.data_type)
        out.append(Detokenized(token_text, value_type, text))
        allowed_count += 1
    policy_ids = {policy_id for step in steps.values() if step.used for policy_id in step.policy_ids}
    # In its own transaction unless the caller's (audit_append): on PostgreSQL one statement.
    audit_append(
        actor=access.actor,
        action="token.detokenize",
        resource_type="TOKEN",
        vault_id=str(access.vault.id),
        record_count=allowed_count,
        decision="ALLOW" if allowed_count else "DENY",
        policy_ids=sorted(policy_ids),
        details={"tokens": len(requests), "failed": len(requests) - allowed_count},
    )
    return out


def tokens_tokenize(access: VaultAccess, values: Sequence[tuple[Any, str]]) -> list[str]:
    """Tokens for values of a column group, stored with the value sealed (no record)."""
    groups: dict[str, tuple[Table, Column]] = {}
    for column in Column.objects.filter(table__vault=access.vault).exclude(column_group="").select_related("table"):
        groups.setdefault(column.column_group, (column.table, column))
    for _value, group in values:
        if group not in groups:
            raise BadRequest(f"No column of this vault is in column group {group}.")
    for group in sorted({g for _, g in values}):
        table, column = groups[group]
        decision = access.decide("TOKENIZATION", table.name, [column.name])
        if column.name not in decision.columns:
            raise _deny(
                access,
                "tokenize",
                table.name,
                [column.name],
                decision,
                f"Not allowed to tokenize values of column group {group}.",
            )
    out: list[str] = []
    with transaction.atomic():
        for value, group in values:
            table, column = groups[group]
            _, columns = access.table(table.name)
            coerced = _values(table, columns, {column.name: value}, creating=False)[column.name]
            kind = column.tokenization if column.tokenization != "NONE" else "UUID"
            tokenizer = access.tokenizer(table, column, kind)
            text = coerced if isinstance(coerced, str) else str(coerced)
            for candidate in tokenizer.candidates(text):
                if kind == "DETERMINISTIC_UUID" and Token.objects.filter(token=candidate.token).exists():
                    out.append(candidate.token)
                    break
                try:
                    with transaction.atomic():
                        Token.objects.create(
                            token=candidate.token,
                            vault=access.vault,
                            column=column,
                            column_group=group,
                            value_sealed=_seal_token_value(access, group, candidate.token, coerced),
                            expires_at=candidate.expires_at,
                        )
                except IntegrityError:
                    continue
                out.append(candidate.token)
                break
        audit_append(
            actor=access.actor,
            action="token.tokenize",
            resource_type="TOKEN",
            vault_id=str(access.vault.id),
            record_count=len(out),
            decision="ALLOW",
            details={"groups": sorted({g for _, g in values})},
        )
    return out
