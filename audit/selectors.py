"""Reads of the audit log: filtered, keyset-paged event queries for the management API, the NDJSON
export and the Skyflow-shaped ``GET /v1/audit/events``.

Every list is ordered by ``seq`` (the chain order) and paged by seq ranges, never by OFFSET over the
whole table, so a page costs the same on the first and the millionth event.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan

from . import actors
from .chain import canonical_value
from .models import AuditEvent, to_us

EXPORT_PAGE = 500


# --- the management API's filters ------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """Filters of ``GET /api/v1/audit/events`` and the export; empty values filter nothing."""

    actor: str = ""
    action: str = ""
    resource_type: str = ""
    resource_id: str = ""
    vault: str = ""
    since: datetime | None = None
    until: datetime | None = None
    decision: str = ""

    def as_dict(self) -> dict[str, str]:
        """The filters that are set, as text (for the audit event of an export)."""
        out: dict[str, str] = {}
        for name in ("actor", "action", "resource_type", "resource_id", "vault", "decision"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None:
                out[name] = moment.isoformat()
        return out


def resource_id_q(resource_id: str) -> Q:
    """Events whose ``resource_ids`` list holds exactly ``resource_id``.

    ``resource_ids`` is canonical JSON text (``["a","b"]``). An element is a JSON string preceded by
    ``[`` or ``,`` and followed by ``,`` or ``]``; inside a string every ``"`` is escaped, so these
    four patterns match whole elements only. StrIndex (INSTR / STRPOS) rather than ``__contains``
    because SQLite's LIKE ignores case and ids are case-sensitive.
    """
    element = canonical_value(resource_id)
    q = Q(pk__in=[])
    for before in ("[", ","):
        for after in (",", "]"):
            q |= Q(GreaterThan(StrIndex("resource_ids", Value(before + element + after)), 0))
    return q


def _filter(queryset: QuerySet[AuditEvent], f: EventFilter) -> QuerySet[AuditEvent]:
    if f.actor:
        queryset = queryset.filter(Q(actor_id=f.actor) | Q(actor_display=f.actor))
    if f.action:
        if f.action.endswith("*"):
            queryset = queryset.filter(action__startswith=f.action[:-1])
        else:
            queryset = queryset.filter(action=f.action)
    if f.resource_type:
        queryset = queryset.filter(resource_type=f.resource_type)
    if f.resource_id:
        queryset = queryset.filter(resource_id_q(f.resource_id))
    if f.vault:
        queryset = queryset.filter(vault_id=f.vault)
    if f.decision:
        queryset = queryset.filter(decision=f.decision)
    if f.since is not None:
        queryset = queryset.filter(ts__gte=to_us(f.since))
    if f.until is not None:
        queryset = queryset.filter(ts__lt=to_us(f.until))
    return queryset


def events_matching(f: EventFilter) -> QuerySet[AuditEvent]:
    """All events that pass the filters, in chain order."""
    return _filter(AuditEvent.objects.all(), f).order_by("seq")


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    next_cursor: int | None


def events_page(f: EventFilter, *, after: int = 0, limit: int = 100) -> EventPage:
    """One page of events with seq > ``after``; ``next_cursor`` is set only when more follow.

    One query: it fetches ``limit + 1`` rows to know whether another page exists.
    """
    rows = list(events_matching(f).filter(seq__gt=after)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(rows, rows[-1].seq if more else None)


def events_page_newest_first(f: EventFilter, *, before: int | None = None, limit: int = 50) -> EventPage:
    """One page of events with seq < ``before`` (all when None), newest first, as the studio's viewer
    lists them; ``next_cursor`` (the ``before`` of the next, older page) is set only when more follow."""
    queryset = _filter(AuditEvent.objects.all(), f)
    if before is not None:
        queryset = queryset.filter(seq__lt=before)
    rows = list(queryset.order_by("-seq")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(rows, rows[-1].seq if more else None)


def iter_events(
    f: EventFilter, *, after: int = 0, upto: int | None = None, page: int = EXPORT_PAGE
) -> Iterator[list[AuditEvent]]:
    """Every matching event with ``after < seq <= upto``, one keyset page (a list) at a time.

    Memory stays at one page whatever the table holds; ``upto`` pins the end, so an export started
    now does not chase the events appended while it streams.
    """
    last = after
    while True:
        queryset = events_matching(f).filter(seq__gt=last)
        if upto is not None:
            queryset = queryset.filter(seq__lte=upto)
        rows = list(queryset[:page])
        if rows:
            yield rows
        if len(rows) < page:
            return
        last = rows[-1].seq


def seq_of_event(event_id: str) -> int | None:
    """The seq of the event with this id (Skyflow's changeID), or None."""
    return AuditEvent.objects.filter(event_id=event_id).values_list("seq", flat=True).first()


# --- Skyflow's vocabulary ----------------------------------------------------------------------------

# Skyflow's request.actionType of an action name. First an exact name, then a name prefix, then the
# verb (the last dotted part); anything else is NONE. Role bindings are Skyflow's ASSIGN/UNASSIGN
# (that is how Skyflow reports granting a role to a member), not CREATE/DELETE.
ACTION_TYPE_BY_ACTION: dict[str, str] = {
    "role.binding.create": "ASSIGN",
    "role.binding.delete": "UNASSIGN",
}
ACTION_TYPE_BY_PREFIX: dict[str, str] = {
    "auth.": "LOGIN",  # token grants and refusals, logins, MFA: Skyflow files all of them as LOGIN
}
ACTION_TYPE_BY_VERB: dict[str, str] = {
    "create": "CREATE",
    "generate": "CREATE",
    "upload": "CREATE",
    "insert": "CREATE",
    "tokenize": "CREATE",
    "update": "UPDATE",
    "patch": "UPDATE",
    "replace": "UPDATE",
    "activate": "UPDATE",
    "deactivate": "UPDATE",
    "delete": "DELETE",
    "revoke": "DELETE",
    "remove": "DELETE",
    "drop": "DELETE",
    "purge": "DELETE",
    "read": "READ",
    "get": "READ",
    "reveal": "READ",
    "detokenize": "READ",
    "query": "READ",
    "export": "READ",
    "list": "LIST",
    "login": "LOGIN",
    "logout": "LOGIN",
    "rotate": "ROTATE",
    "rewrap": "ROTATE",
    "verify": "VALIDATE",
    "validate": "VALIDATE",
    "simulate": "VALIDATE",
    "assign": "ASSIGN",
    "unassign": "UNASSIGN",
    "execute": "EXECUTE",
    "import": "IMPORT",
}
NO_ACTION_TYPE = "NONE"


def action_type_of(action: str) -> str:
    """Skyflow's actionType for one of our action names (``service_account.create`` → CREATE)."""
    if action in ACTION_TYPE_BY_ACTION:
        return ACTION_TYPE_BY_ACTION[action]
    for prefix, action_type in ACTION_TYPE_BY_PREFIX.items():
        if action.startswith(prefix):
            return action_type
    return ACTION_TYPE_BY_VERB.get(action.rsplit(".", 1)[-1], NO_ACTION_TYPE)


def _any_prefix_q(prefixes: list[str]) -> Q:
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(action__startswith=prefix)
    return q


def _any_verb_q(verbs: list[str]) -> Q:
    q = Q(pk__in=[])
    for verb in verbs:
        q |= Q(action=verb) | Q(action__endswith="." + verb)
    return q


def action_type_q(action_type: str) -> Q:
    """Events whose ``action_type_of(action)`` is ``action_type``, as SQL (same precedence)."""
    exact = [name for name, t in ACTION_TYPE_BY_ACTION.items() if t == action_type]
    prefixed = [p for p, t in ACTION_TYPE_BY_PREFIX.items() if t == action_type]
    verbs = [v for v, t in ACTION_TYPE_BY_VERB.items() if t == action_type]
    all_prefixes = _any_prefix_q(list(ACTION_TYPE_BY_PREFIX))
    if action_type == NO_ACTION_TYPE:
        by_rule = ~all_prefixes & ~_any_verb_q(list(ACTION_TYPE_BY_VERB))
    else:
        by_rule = _any_prefix_q(prefixed) | (_any_verb_q(verbs) & ~all_prefixes)
    return Q(action__in=exact) | (by_rule & ~Q(action__in=list(ACTION_TYPE_BY_ACTION)))


def skyflow_actor_type(actor_type: str) -> str:
    """Skyflow knows NONE, USER and SERVICE_ACCOUNT; our SYSTEM actor (jobs, CLI) is NONE there."""
    return actor_type if actor_type in (actors.USER, actors.SERVICE_ACCOUNT) else "NONE"


def skyflow_access_type(event: AuditEvent) -> str:
    return "API" if event.http_method else "ACCESS_NONE"


# filterOps keys of attributes VaultStudio does not record: no event carries a value for them, so a
# filter on any value matches nothing (returning everything instead would mislead a SIEM).
SKYFLOW_UNRECORDED = frozenset(
    {
        "context.traceID",
        "context.sessionID",
        "context.origin",
        "context.jwtID",
        "context.bearerTokenContextID",
        "parentAccountID",
        "workspaceID",
        "tags",
        "responseMessage",
    }
)


def _skyflow_resource_ids_q(value: str) -> Q:
    """``"VAULT/v1, SERVICE_ACCOUNT/abc"`` (or bare ids): events that hold at least one of them."""
    q = Q(pk__in=[])
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        kind, _, ident = item.partition("/")
        if not ident:
            q |= resource_id_q(kind)
            continue
        q |= Q(resource_type=kind) & resource_id_q(ident)
        if kind == "VAULT":
            q |= Q(vault_id=ident)
    return q


def _skyflow_filter_q(key: str, value: Any) -> Q:
    if key in SKYFLOW_UNRECORDED:
        return Q(pk__in=[])
    match key:
        case "context.changeID":
            return Q(event_id=value)
        case "context.requestID":
            return Q(request_id=value)
        case "context.actor":
            return Q(actor_id=value) | Q(actor_display=value)
        case "context.actorType":
            if value == "NONE":
                return ~Q(actor_type__in=[actors.USER, actors.SERVICE_ACCOUNT])
            return Q(actor_type=value)
        case "context.accessType":
            if value == "API":
                return ~Q(http_method="")
            return Q(http_method="") if value == "ACCESS_NONE" else Q(pk__in=[])
        case "context.ipAddress":
            return Q(ip=value)
        case "context.authMode":
            return Q(auth_mode=value)
        case "vaultID":
            return Q(vault_id=value)
        case "resourceIDs":
            return _skyflow_resource_ids_q(value)
        case "actionType":
            return action_type_q(value)
        case "resourceType":
            return Q(resource_type=value)
        case "apiName":
            return Q(action=value)
        case "httpMethod":
            return Q(http_method=value.upper())
        case "httpURI":
            return Q(http_path=value)
        case "responseCode":
            return Q(http_status=value)
        case "startTime":
            return Q(ts__gte=to_us(value))
        case "endTime":
            return Q(ts__lt=to_us(value))
    raise ValueError(f"unknown filterOps key {key!r}")


SKYFLOW_FILTER_KEYS: tuple[str, ...] = (
    "context.changeID",
    "context.requestID",
    "context.traceID",
    "context.sessionID",
    "context.actor",
    "context.actorType",
    "context.accessType",
    "context.ipAddress",
    "context.origin",
    "context.authMode",
    "context.jwtID",
    "context.bearerTokenContextID",
    "parentAccountID",
    "workspaceID",
    "vaultID",
    "resourceIDs",
    "actionType",
    "resourceType",
    "tags",
    "responseCode",
    "startTime",
    "endTime",
    "apiName",
    "responseMessage",
    "httpMethod",
    "httpURI",
)


def skyflow_events(
    *,
    filters: Mapping[str, Any],
    descending: bool = False,
    after_seq: int | None = None,
    after_time: datetime | None = None,
    limit: int = 25,
    offset: int = 0,
) -> list[AuditEvent]:
    """One page of events for ``GET /v1/audit/events``, in one query.

    ``filters`` maps filterOps keys (without the ``filterOps.`` prefix) to parsed values; the cursor
    is a seq (from ``afterOps.changeID``) or, failing that, a time (``afterOps.timestamp``), and
    counts in the direction of the order.
    """
    queryset = AuditEvent.objects.all()
    for key, value in filters.items():
        queryset = queryset.filter(_skyflow_filter_q(key, value))
    if after_seq is not None:
        queryset = queryset.filter(seq__lt=after_seq) if descending else queryset.filter(seq__gt=after_seq)
    elif after_time is not None:
        moment = to_us(after_time)
        queryset = queryset.filter(ts__lt=moment) if descending else queryset.filter(ts__gt=moment)
    queryset = queryset.order_by("-seq" if descending else "seq")
    return list(queryset[offset : offset + limit])


# --- the chain's status, as the studio shows it ----------------------------------------------------

CHAIN_CHECK_ACTIONS = ("audit.verify", "audit.chain.broken")


def last_chain_check() -> AuditEvent | None:
    """The latest verification of the chain (by a person or the periodic job), or None if never checked."""
    return AuditEvent.objects.filter(action__in=CHAIN_CHECK_ACTIONS).order_by("-seq").first()


def chain_alert() -> dict[str, Any] | None:
    """The standing alert of a broken chain (set by the periodic check or a verification that found a
    break, cleared when the chain verifies again), or None."""
    from django.core.cache import cache

    from .services import CHAIN_BROKEN_CACHE_KEY

    alert = cache.get(CHAIN_BROKEN_CACHE_KEY)
    return alert if isinstance(alert, dict) else None


def event_actions() -> list[str]:
    """Every action name the log holds (for the viewer's filter), from the action index."""
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())
