"""The data plane, wire-compatible with Skyflow's v1 REST API (SKYFLOW_WIRE.md §1–4, §6).

Thin views: parse the Skyflow shape (``vaults.api.wire``), call the records door
(``vaults.records``), shape the answer exactly as the SDKs read it. Any authenticated caller may
call; what it gets is decided by its policies alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import append_deferred
from policies.services import policy_version
from vaults import records
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
from vaults.models import IdempotentResponse
from vaults.query import UnsupportedQuery, parse_query
from vaults.selectors import vault_get_current
from vaultstudio.errors import BadRequest, NotFound, VaultError

_TAGS = ["data plane (Skyflow-compatible)"]


def _operation(summary: str, operation_id: str, *, body: bool = True) -> Callable[[Any], Any]:
    """OpenAPI for a data-plane operation under Skyflow's own operation id (bodies and answers are
    Skyflow's JSON shapes, documented in SKYFLOW_WIRE.md rather than as serializers)."""
    return extend_schema(
        tags=_TAGS,
        summary=summary,
        operation_id=operation_id,
        request=OpenApiTypes.OBJECT if body else None,
        responses={200: OpenApiTypes.OBJECT},
    )


def _wire(parse: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return parse(*args, **kwargs)
    except WireError as exc:
        raise BadRequest(str(exc)) from exc


class DataPlaneView(APIView):
    permission_classes = [IsAuthenticated]

    def access(self, request: Request, vault_id: str) -> records.VaultAccess:
        # Read once per request (bearer authentication already has): it keys the vault row, its keys
        # and the decisions.
        version = getattr(request.user, "version", None)
        if version is None:
            version = policy_version()
        return records.VaultAccess(caller=request.user, vault=vault_get_current(vault_id, version), version=version)


def _principal_key(request: Request) -> str:
    user = request.user
    account = getattr(user, "service_account", None)
    return f"sa:{account.client_id}" if account is not None else f"user:{user.pk}"


def _idempotent(request: Request, produce: Callable[[], tuple[int, Any]]) -> Response:
    """Answer a retried request (same Idempotency-Key, same caller) with its first answer."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        status, body = produce()
        return Response(body, status=status)
    if len(key) > 255:
        raise BadRequest("Idempotency-Key is longer than 255 characters.")
    principal = _principal_key(request)
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode() + request._request.body).hexdigest()
    first = IdempotentResponse.objects.filter(principal=principal, key=key).first()
    if first is not None:
        if first.request_hash != digest:
            raise VaultError(
                "This Idempotency-Key was used for a different request; use a new key for a new request.", status=422
            )
        return Response(first.body, status=first.status)
    try:
        with transaction.atomic():
            status, body = produce()
            IdempotentResponse.objects.create(
                principal=principal, key=key, request_hash=digest, status=status, body=body
            )
    except IntegrityError:
        # A concurrent retry won the race and committed first: answer as it did.
        first = IdempotentResponse.objects.filter(principal=principal, key=key).first()
        if first is None or first.request_hash != digest:
            raise
        return Response(first.body, status=first.status)
    return Response(body, status=status)


def _insert(
    access: records.VaultAccess,
    table: str,
    rows: list[dict[str, Any]],
    tokens: list[dict[str, str]],
    *,
    upsert: str | None,
    tokenization: bool,
    byot: str,
) -> list[records.Written]:
    """Insert, or upsert on the column ``upsert`` names (Skyflow sends "" or null for none)."""
    if upsert:
        return records.records_upsert(
            access, table, rows, upsert=upsert, tokenization=tokenization, tokens=tokens, byot=byot
        )
    return records.records_insert(access, table, rows, tokenization=tokenization, tokens=tokens, byot=byot)


def _insert_records_body(written: list[records.Written], tokenization: bool) -> list[dict[str, Any]]:
    return [{"skyflow_id": w.skyflow_id, "tokens": w.tokens if tokenization else None} for w in written]


class BatchView(DataPlaneView):
    """POST /v1/vaults/{vault} — Skyflow's batch; what the v1 SDK's insert() calls."""

    @_operation("Batch of record operations", "record_service_batch_operation")
    def post(self, request: Request, vault_id: str) -> Response:
        access = self.access(request, vault_id)
        batch = _wire(parse_batch, request.data)

        def run_one(op: Any) -> dict[str, Any]:
            if op.method == "POST":
                written = _insert(
                    access,
                    op.table,
                    [op.fields],
                    [op.tokens],
                    upsert=op.upsert,
                    tokenization=op.tokenization,
                    byot=batch.byot,
                )
                return {"records": [{"skyflow_id": w.skyflow_id, "tokens": w.tokens} for w in written]}
            if op.method == "GET":
                read = records.records_read(
                    access,
                    op.table,
                    records.ReadRequest(
                        record_ids=(op.record_id,), redaction=op.redaction, tokenization=op.tokenization
                    ),
                    single=True,
                )
                return {"records": read}
            if op.method == "PUT":
                w = records.record_update(
                    access,
                    op.table,
                    op.record_id,
                    op.fields,
                    tokenization=op.tokenization,
                    tokens=op.tokens,
                    byot=batch.byot,
                )
                return {"records": [{"skyflow_id": w.skyflow_id, "tokens": w.tokens}]}
            records.records_delete(access, op.table, [op.record_id], single=True)
            return {"records": [{"skyflow_id": op.record_id, "deleted": True}]}

        def produce() -> tuple[int, Any]:
            responses: list[Any] = []
            if not batch.continue_on_error:
                with transaction.atomic():  # all or nothing
                    responses = [run_one(op) for op in batch.operations]
            else:
                for op in batch.operations:
                    try:
                        with transaction.atomic():
                            responses.append({"Body": run_one(op), "Status": 200})
                    except VaultError as exc:
                        append_deferred(exc)  # the operation's refusal, out of its rolled-back transaction
                        responses.append({"Body": {"error": exc.message}, "Status": exc.status_code})
            return 200, {"vaultID": str(access.vault.id), "responses": responses}

        return _idempotent(request, produce)


class TableView(DataPlaneView):
    """POST (insert), GET (bulk get), DELETE (bulk delete) /v1/vaults/{vault}/{table}."""

    @_operation("Insert records", "record_service_insert_record")
    def post(self, request: Request, vault_id: str, table: str) -> Response:
        access = self.access(request, vault_id)
        body = _wire(parse_insert, request.data)

        def produce() -> tuple[int, Any]:
            written = _insert(
                access,
                table,
                [r.fields for r in body.records],
                [r.tokens for r in body.records],
                upsert=body.upsert,
                tokenization=body.tokenization,
                byot=body.byot,
            )
            return 200, {"records": _insert_records_body(written, body.tokenization)}

        return _idempotent(request, produce)

    @_operation("Get records", "record_service_bulk_get_record", body=False)
    def get(self, request: Request, vault_id: str, table: str) -> Response:
        access = self.access(request, vault_id)
        params = _wire(parse_get, {k: request.query_params.getlist(k) for k in request.query_params})
        read = records.records_read(
            access,
            table,
            records.ReadRequest(
                record_ids=params.skyflow_ids,
                column_name=params.column_name,
                column_values=params.column_values,
                fields=params.fields,
                redaction=params.redaction,
                tokenization=params.tokenization,
                offset=params.offset,
                limit=params.limit,
                order_by=params.order_by,
            ),
        )
        return Response({"records": read})

    @_operation("Delete records", "record_service_bulk_delete_record")
    def delete(self, request: Request, vault_id: str, table: str) -> Response:
        access = self.access(request, vault_id)
        body = _wire(parse_bulk_delete, request.data)
        deleted = records.records_delete(access, table, None if body.everything else list(body.skyflow_ids))
        return Response({"RecordIDResponse": deleted})


class RecordView(DataPlaneView):
    """GET, PUT, DELETE /v1/vaults/{vault}/{table}/{id}."""

    @_operation("Get one record", "record_service_get_record", body=False)
    def get(self, request: Request, vault_id: str, table: str, record_id: str) -> Response:
        access = self.access(request, vault_id)
        params = _wire(parse_get, {k: request.query_params.getlist(k) for k in request.query_params}, single=True)
        read = records.records_read(
            access,
            table,
            records.ReadRequest(
                record_ids=(record_id,),
                fields=params.fields,
                redaction=params.redaction,
                tokenization=params.tokenization,
                limit=1,
            ),
            single=True,
        )
        return Response(read[0])

    @_operation("Update one record", "record_service_update_record")
    def put(self, request: Request, vault_id: str, table: str, record_id: str) -> Response:
        access = self.access(request, vault_id)
        body = _wire(parse_update, request.data)
        written = records.record_update(
            access, table, record_id, body.fields, tokenization=body.tokenization, tokens=body.tokens, byot=body.byot
        )
        answer: dict[str, Any] = {"skyflow_id": written.skyflow_id}
        if body.tokenization:
            answer["tokens"] = written.tokens
        return Response(answer)

    @_operation("Delete one record", "record_service_delete_record", body=False)
    def delete(self, request: Request, vault_id: str, table: str, record_id: str) -> Response:
        access = self.access(request, vault_id)
        records.records_delete(access, table, [record_id], single=True)
        return Response({"skyflow_id": record_id, "deleted": True})


class DetokenizeView(DataPlaneView):
    @_operation("Detokenize", "record_service_detokenize")
    def post(self, request: Request, vault_id: str) -> Response:
        access = self.access(request, vault_id)
        body = _wire(parse_detokenize, request.data)
        results = records.tokens_detokenize(access, body.tokens)
        failed = [r for r in results if r.error]
        if failed and not body.continue_on_error:
            raise NotFound(f"Token Not Found: {failed[0].token}")
        return Response(
            {
                "records": [
                    {"token": r.token, "error": r.error}
                    if r.error
                    else {"token": r.token, "valueType": r.value_type, "value": r.value}
                    for r in results
                ]
            }
        )


class TokenizeView(DataPlaneView):
    @_operation("Tokenize", "record_service_tokenize")
    def post(self, request: Request, vault_id: str) -> Response:
        access = self.access(request, vault_id)
        body = _wire(parse_tokenize, request.data)
        return Response({"records": [{"token": t} for t in records.tokens_tokenize(access, body.values)]})


class QueryView(DataPlaneView):
    @_operation("Query (SELECT subset)", "query_service_execute_query")
    def post(self, request: Request, vault_id: str) -> Response:
        access = self.access(request, vault_id)
        text = _wire(parse_query_body, request.data)
        try:
            spec = parse_query(text)
        except UnsupportedQuery as exc:
            raise BadRequest(str(exc)) from exc
        read = records.records_read(
            access,
            spec.table,
            records.ReadRequest(filters=spec.filters, fields=spec.columns, offset=spec.offset, limit=spec.limit),
            action_name="query",
        )
        return Response({"records": read})
