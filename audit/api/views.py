"""The audit API: events with filters and a cursor, the NDJSON export, chain verification (all under
``/api/v1/audit/``) and Skyflow's ``GET /v1/audit/events``. Every view needs the AUDITOR role.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.principals import actor_of
from audit.actors import Actor
from audit.models import AuditEvent
from audit.selectors import EventFilter, events_page, iter_events, seq_of_event, skyflow_events
from audit.services import audit_chain_verify, audit_export_begin, verify_result_dict
from policies.permissions import IsAuditor
from vaultstudio.errors import BadRequest

from .serializers import (
    AuditEventPageSerializer,
    EventQuerySerializer,
    ExportQuerySerializer,
    SkyflowEventPageSerializer,
    SkyflowEventQuerySerializer,
    VerifyResultSerializer,
    skyflow_event,
    skyflow_time,
)

_ERRORS = {
    400: OpenApiResponse(description="A parameter is invalid; the message and `details` name it."),
    401: OpenApiResponse(description="No valid bearer token or session."),
    403: OpenApiResponse(description="The caller does not hold the AUDITOR role."),
}
NDJSON = "application/x-ndjson"


class AuditEventListView(APIView):
    """``GET /api/v1/audit/events``: a page of events in chain order."""

    permission_classes = [IsAuditor]

    @extend_schema(
        operation_id="audit_events_list",
        summary="List audit events (filters, cursor)",
        parameters=[EventQuerySerializer],
        responses={200: AuditEventPageSerializer, **_ERRORS},
        tags=["audit"],
    )
    def get(self, request: Request) -> Response:
        query = EventQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = events_page(
            query.event_filter(), after=query.validated_data["after"], limit=query.validated_data["limit"]
        )
        return Response({"events": [event.as_dict() for event in page.events], "next_cursor": page.next_cursor})


def _ndjson_chunks(pages: Iterable[list[AuditEvent]]) -> Iterator[bytes]:
    """One chunk per keyset page: a line of JSON per event."""
    for rows in pages:
        yield "".join(
            json.dumps(event.as_dict(), ensure_ascii=False, separators=(",", ":")) + "\n" for event in rows
        ).encode()


def ndjson_export_response(*, actor: Actor, filters: EventFilter, after: int = 0) -> StreamingHttpResponse:
    """Every event matching ``filters`` after seq ``after``, streamed as an NDJSON attachment, up to the
    export's own ``audit.export`` event. Shared by the API's export and the studio's audit viewer."""
    # Audited before streaming: if the event cannot be written, the caller gets a 500 and no data.
    upto = audit_export_begin(actor=actor, export_format="ndjson", filters=filters.as_dict(), after=after)
    response = StreamingHttpResponse(_ndjson_chunks(iter_events(filters, after=after, upto=upto)), content_type=NDJSON)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="vaultstudio-audit-{stamp}.ndjson"'
    response["Cache-Control"] = "no-store"
    return response


class AuditExportView(APIView):
    """``GET /api/v1/audit/export?format=ndjson``: every matching event, streamed."""

    permission_classes = [IsAuditor]
    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        # Here `format` names the export format, not one of DRF's renderers (DRF would answer an
        # unknown one with a 404 before the view runs); errors are always rendered as JSON.
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type

    @extend_schema(
        operation_id="audit_events_export",
        summary="Export audit events as NDJSON (streamed)",
        description="One `AuditEvent` JSON object per line, in chain order, up to the export's own "
        "`audit.export` event (written before the first byte is sent). Same filters as the list.",
        parameters=[ExportQuerySerializer],
        responses={(200, NDJSON): OpenApiTypes.STR, **_ERRORS},
        tags=["audit"],
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return ndjson_export_response(
            actor=actor_of(request.user), filters=query.event_filter(), after=query.validated_data["after"]
        )


class AuditVerifyView(APIView):
    """``POST /api/v1/audit/verify``: re-verify the whole chain now."""

    permission_classes = [IsAuditor]

    @extend_schema(
        operation_id="audit_chain_verify",
        summary="Re-verify the audit hash chain",
        description="Checks every event's link and hash from the first one, and the chain head. The "
        "check is itself audited (`audit.verify`); a break also raises the chain alert.",
        request=None,
        responses={200: VerifyResultSerializer, 401: _ERRORS[401], 403: _ERRORS[403]},
        tags=["audit"],
    )
    def post(self, request: Request) -> Response:
        result = audit_chain_verify(actor=actor_of(request.user))
        return Response(verify_result_dict(result))


class SkyflowAuditEventsView(APIView):
    """``GET /v1/audit/events`` in Skyflow's shape (SKYFLOW_WIRE.md §5), for SIEMs and Skyflow's SDK.

    ``filterOps.accountID`` is required, as in Skyflow's API, but any value is accepted: a
    VaultStudio server holds a single account, and every event names it as ``accountID``
    (``VAULTSTUDIO_ACCOUNT_ID``). filterOps on attributes VaultStudio records map onto its columns
    (``apiName`` is the action name, ``actionType`` is derived from it); those it does not record
    (traceID, sessionID, origin, jwtID, bearerTokenContextID, parentAccountID, workspaceID, tags,
    responseMessage) match no event. Events are sorted in chain order whatever ``sortOps.sortBy``
    says; ``sortOps.orderBy`` picks the direction. ``afterOps.changeID`` (or, alone,
    ``afterOps.timestamp``) continues from a previous page's ``nextOps``; ``offset`` skips events
    after it.
    """

    permission_classes = [IsAuditor]

    @extend_schema(
        operation_id="AuditService_ListAuditEvents",
        summary="List audit events (Skyflow-compatible)",
        parameters=[SkyflowEventQuerySerializer],
        responses={200: SkyflowEventPageSerializer, **_ERRORS},
        tags=["skyflow"],
    )
    def get(self, request: Request) -> Response:
        query = SkyflowEventQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        after_seq = None
        change_id = query.value("afterOps.changeID")
        if change_id:
            after_seq = seq_of_event(change_id)
            if after_seq is None:
                message = (
                    "afterOps.changeID: no audit event has this changeID; pass nextOps.changeID of a previous response."
                )
                raise BadRequest(message, details=[{"field": "afterOps.changeID", "message": message}])
        events = skyflow_events(
            filters=query.filters(),
            descending=query.value("sortOps.orderBy") == "DESCENDING",
            after_seq=after_seq,
            after_time=None if after_seq is not None else query.value("afterOps.timestamp"),
            limit=query.value("limit"),
            offset=query.value("offset"),
        )
        account_id = settings.VAULTSTUDIO_ACCOUNT_ID
        return Response(
            {
                "event": [skyflow_event(event, account_id=account_id) for event in events],
                "nextOps": _next_ops(events, request.query_params),
            }
        )


def _next_ops(events: list[AuditEvent], params: Any) -> dict[str, str]:
    """Where the next page starts: after the last event sent; on an empty page, where this one
    started (so a SIEM that polls keeps its place)."""
    if events:
        return {"timestamp": skyflow_time(events[-1]), "changeID": events[-1].event_id}
    return {key: params[f"afterOps.{key}"] for key in ("timestamp", "changeID") if params.get(f"afterOps.{key}")}
