"""Query parameters and response shapes of the audit API.

The query serializers validate the query string (a bad value is a 400 naming the parameter, through
the error envelope); the response serializers only document the shapes for OpenAPI, because the
events are rendered by ``AuditEvent.as_dict`` and ``skyflow_event`` (plain dicts, fast on 1000 rows).
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers

from audit.models import AuditEvent
from audit.selectors import (
    SKYFLOW_FILTER_KEYS,
    EventFilter,
    action_type_of,
    skyflow_access_type,
    skyflow_actor_type,
)

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
SKYFLOW_DEFAULT_LIMIT = 25
_DATETIME_HELP = "ISO 8601, e.g. 2025-05-01T12:00:00Z (no offset means UTC)."


class ClampedLimitField(serializers.IntegerField):
    """A page size: at least 1; larger than the maximum is served as the maximum (the cursor
    then tells the caller that more follows), as DRF's paginators do with max_page_size."""

    def __init__(self, *, maximum: int, **kwargs: Any) -> None:
        self.maximum = maximum
        super().__init__(min_value=1, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        return min(super().to_internal_value(data), self.maximum)


class EventQuerySerializer(serializers.Serializer):
    """``GET /api/v1/audit/events`` and ``GET /api/v1/audit/export``."""

    actor = serializers.CharField(required=False, help_text="Actor id or display name, exactly.")
    action = serializers.CharField(
        required=False, help_text="Action name, exactly; ending with `*` it is a prefix (`auth.*`)."
    )
    resource_type = serializers.CharField(required=False)
    resource_id = serializers.CharField(required=False, help_text="An id among the event's resource ids.")
    vault = serializers.CharField(required=False, help_text="Vault id.")
    since = serializers.DateTimeField(required=False, help_text=f"Events at or after this time. {_DATETIME_HELP}")
    until = serializers.DateTimeField(required=False, help_text=f"Events before this time. {_DATETIME_HELP}")
    after = serializers.IntegerField(
        required=False, min_value=0, default=0, help_text="Cursor: events with a larger seq (`next_cursor`)."
    )
    limit = ClampedLimitField(
        maximum=MAX_LIMIT, required=False, default=DEFAULT_LIMIT, help_text=f"Page size, 1 to {MAX_LIMIT}."
    )

    def event_filter(self) -> EventFilter:
        data = self.validated_data
        return EventFilter(
            actor=data.get("actor", ""),
            action=data.get("action", ""),
            resource_type=data.get("resource_type", ""),
            resource_id=data.get("resource_id", ""),
            vault=data.get("vault", ""),
            since=data.get("since"),
            until=data.get("until"),
        )


class ExportQuerySerializer(EventQuerySerializer):
    limit = None  # an export has no page size: it streams every matching event
    format = serializers.ChoiceField(
        choices=["ndjson"],
        error_messages={"invalid_choice": "{input!r} is not an export format; use format=ndjson."},
        help_text="Export format; only `ndjson` (one JSON event per line).",
    )


class AuditActorSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()
    display = serializers.CharField()


class AuditResourceSerializer(serializers.Serializer):
    type = serializers.CharField()
    ids = serializers.ListField(child=serializers.CharField())


class AuditRequestSerializer(serializers.Serializer):
    id = serializers.CharField()
    ip = serializers.CharField()
    user_agent = serializers.CharField()
    method = serializers.CharField()
    path = serializers.CharField()
    status = serializers.IntegerField(allow_null=True)


class AuditEventSerializer(serializers.Serializer):
    """One event as ``AuditEvent.as_dict`` gives it (documentation of the shape)."""

    seq = serializers.IntegerField()
    id = serializers.UUIDField()
    timestamp = serializers.DateTimeField()
    actor = AuditActorSerializer()
    auth_mode = serializers.CharField()
    action = serializers.CharField()
    resource = AuditResourceSerializer()
    vault_id = serializers.CharField(allow_null=True)
    table = serializers.CharField(allow_null=True)
    columns = serializers.ListField(child=serializers.CharField())
    record_count = serializers.IntegerField(allow_null=True)
    decision = serializers.CharField(allow_null=True)
    policy_ids = serializers.ListField(child=serializers.CharField())
    request = AuditRequestSerializer()
    details = serializers.DictField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


class AuditEventPageSerializer(serializers.Serializer):
    events = AuditEventSerializer(many=True)
    next_cursor = serializers.IntegerField(allow_null=True, help_text="Pass as `after` for the next page.")


class VerifyResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    checked = serializers.IntegerField(help_text="Events verified before the first break (all, when valid).")
    first_bad_seq = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)


# --- Skyflow's GET /v1/audit/events -------------------------------------------------------------------

_SKYFLOW_TIME_KEYS = ("startTime", "endTime")


def _source(name: str) -> str:
    # DRF reads a dot in a field's source as a path into nested data; keep the key flat.
    return name.replace(".", "__")


class SkyflowEventQuerySerializer(serializers.Serializer):
    """The query keys of Skyflow's ``AuditService_ListAuditEvents`` (SKYFLOW_WIRE.md §5).

    The keys hold dots (``filterOps.vaultID``), so the fields are built in ``get_fields``; read the
    validated values with ``value(key)``. Empty values are treated as absent, like the None values
    the generated client drops.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        fields: dict[str, serializers.Field] = {
            "filterOps.accountID": serializers.CharField(
                source=_source("filterOps.accountID"),
                error_messages={
                    "required": "filterOps.accountID is required (any value: this server holds one account).",
                    "blank": "filterOps.accountID must not be empty.",
                },
                help_text="Required by Skyflow's API; any value is accepted (VaultStudio holds one account).",
            ),
        }
        for key in SKYFLOW_FILTER_KEYS:
            name = f"filterOps.{key}"
            if key in _SKYFLOW_TIME_KEYS:
                fields[name] = serializers.DateTimeField(required=False, source=_source(name), help_text=_DATETIME_HELP)
            elif key == "responseCode":
                fields[name] = serializers.IntegerField(
                    required=False, min_value=100, max_value=599, source=_source(name)
                )
            else:
                fields[name] = serializers.CharField(required=False, source=_source(name))
        fields["sortOps.sortBy"] = serializers.CharField(
            required=False,
            source=_source("sortOps.sortBy"),
            help_text="Accepted; events are always sorted by time (chain order).",
        )
        fields["sortOps.orderBy"] = serializers.ChoiceField(
            choices=["ASCENDING", "DESCENDING"],
            required=False,
            default="ASCENDING",
            source=_source("sortOps.orderBy"),
            error_messages={"invalid_choice": "{input!r} is not ASCENDING or DESCENDING."},
        )
        fields["afterOps.timestamp"] = serializers.DateTimeField(
            required=False,
            source=_source("afterOps.timestamp"),
            help_text="Cursor from `nextOps.timestamp`; `afterOps.changeID` wins when both are given.",
        )
        fields["afterOps.changeID"] = serializers.CharField(
            required=False, source=_source("afterOps.changeID"), help_text="Cursor from `nextOps.changeID`."
        )
        fields["limit"] = ClampedLimitField(maximum=MAX_LIMIT, required=False, default=SKYFLOW_DEFAULT_LIMIT)
        fields["offset"] = serializers.IntegerField(required=False, min_value=0, default=0)
        return fields

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # The generated client drops None values; some hand-written clients send them empty instead.
        present = {key: value for key, value in data.items() if value != ""}
        return super().to_internal_value(present)

    def value(self, key: str) -> Any:
        """The validated value of a query key (``"sortOps.orderBy"``), or None when absent."""
        return self.validated_data.get(_source(key))

    def filters(self) -> dict[str, Any]:
        """The filterOps that are set, keyed without the ``filterOps.`` prefix."""
        return {
            key: self.value(f"filterOps.{key}")
            for key in SKYFLOW_FILTER_KEYS
            if self.value(f"filterOps.{key}") is not None
        }


def skyflow_time(event: AuditEvent) -> str:
    return event.timestamp.isoformat().replace("+00:00", "Z")


def skyflow_event(event: AuditEvent, *, account_id: str) -> dict[str, Any]:
    """One event in Skyflow's ``V1AuditResponseEvent`` shape; attributes we do not record are empty.

    ``request.data.content`` holds what was asked (table, columns, details) and
    ``response.data.content`` what was decided, as JSON text; never vault data (the writer's rule).
    """
    when = skyflow_time(event)
    ids = json.loads(event.resource_ids)
    resource_ids = [f"{event.resource_type}/{rid}" if event.resource_type else rid for rid in ids]
    if event.vault_id and f"VAULT/{event.vault_id}" not in resource_ids:
        resource_ids.append(f"VAULT/{event.vault_id}")
    asked: dict[str, Any] = {}
    if event.table_name:
        asked["table"] = event.table_name
    if event.columns != "[]":
        asked["columns"] = json.loads(event.columns)
    if event.details != "{}":
        asked["details"] = json.loads(event.details)
    decided: dict[str, Any] = {}
    if event.decision:
        decided["decision"] = event.decision
    if event.record_count is not None:
        decided["record_count"] = event.record_count
    if event.policy_ids != "[]":
        decided["policy_ids"] = json.loads(event.policy_ids)
    status = event.http_status
    return {
        "context": {
            "changeID": event.event_id,
            "requestID": event.request_id,
            "traceID": "",
            "sessionID": "",
            "actor": event.actor_id or event.actor_display,
            "actorType": skyflow_actor_type(event.actor_type),
            "accessType": skyflow_access_type(event),
            "ipAddress": event.ip,
            "origin": "",
            "authMode": event.auth_mode,
            "jwtID": "",
            "bearerTokenContextID": "",
        },
        "request": {
            "data": {"content": json.dumps(asked, ensure_ascii=False, sort_keys=True) if asked else ""},
            "apiName": event.action,
            "workspaceID": "",
            "vaultID": event.vault_id,
            "tags": [],
            "timestamp": when,
            "actionType": action_type_of(event.action),
            "resourceType": event.resource_type,
            "httpInfo": {"URI": event.http_path, "method": event.http_method},
        },
        "response": {
            "code": status,
            "message": "",
            "data": {"content": json.dumps(decided, ensure_ascii=False, sort_keys=True) if decided else ""},
            "timestamp": when,
        },
        "parentAccountID": "",
        "accountID": account_id,
        "resourceIDs": resource_ids,
    }


# The documentation serializers below use Skyflow's camelCase wire names as field names.


class _SkyflowDataSerializer(serializers.Serializer):
    content = serializers.CharField()


class _SkyflowContextSerializer(serializers.Serializer):
    changeID = serializers.CharField()
    requestID = serializers.CharField()
    traceID = serializers.CharField()
    sessionID = serializers.CharField()
    actor = serializers.CharField()
    actorType = serializers.CharField()
    accessType = serializers.CharField()
    ipAddress = serializers.CharField()
    origin = serializers.CharField()
    authMode = serializers.CharField()
    jwtID = serializers.CharField()
    bearerTokenContextID = serializers.CharField()


class _SkyflowHttpInfoSerializer(serializers.Serializer):
    URI = serializers.CharField()
    method = serializers.CharField()


class _SkyflowRequestSerializer(serializers.Serializer):
    data = _SkyflowDataSerializer()
    apiName = serializers.CharField()
    workspaceID = serializers.CharField()
    vaultID = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    timestamp = serializers.CharField()
    actionType = serializers.CharField()
    resourceType = serializers.CharField()
    httpInfo = _SkyflowHttpInfoSerializer()


class _SkyflowResponseSerializer(serializers.Serializer):
    code = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()
    data = _SkyflowDataSerializer()
    timestamp = serializers.CharField()


class SkyflowEventSerializer(serializers.Serializer):
    context = _SkyflowContextSerializer()
    request = _SkyflowRequestSerializer()
    response = _SkyflowResponseSerializer()
    parentAccountID = serializers.CharField()
    accountID = serializers.CharField()
    resourceIDs = serializers.ListField(child=serializers.CharField())


class SkyflowNextOpsSerializer(serializers.Serializer):
    timestamp = serializers.CharField(required=False)
    changeID = serializers.CharField(required=False)


class SkyflowEventPageSerializer(serializers.Serializer):
    event = SkyflowEventSerializer(many=True)
    nextOps = SkyflowNextOpsSerializer()
