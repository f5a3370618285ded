"""POST /api/v1/simulate — "what would this principal get for this action on this table, and which
statement decided?" (DESIGN.md §6, §15). Answers from the same PDP and engine as the data plane."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.principals import ServiceAccountPrincipal
from accounts.selectors import service_account_get, user_get_by_email
from policies.pdp import decide_for
from policies.permissions import IsVaultOwner
from policies.selectors import vault_owner_scope
from vaults.selectors import vault_get
from vaultstudio.api import ManagementView, StrictInputSerializer, error_responses, parsed
from vaultstudio.errors import BadRequest, NotFound

ACTIONS = ("READ", "CREATE", "UPDATE", "DELETE", "TOKENIZATION", "DETOKENIZATION")
LEVELS = ("DEFAULT", "PLAIN_TEXT", "MASKED", "REDACTED")


class SimulateSerializer(StrictInputSerializer):
    principal = serializers.DictField(help_text='{"service_account": client_id} or {"user": email}')
    vault = serializers.CharField()
    action = serializers.ChoiceField(choices=ACTIONS)
    table = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    redaction = serializers.ChoiceField(choices=LEVELS, required=False, allow_null=True)
    context = serializers.DictField(required=False, allow_null=True)


def _caller(principal: dict[str, Any]) -> Any:
    if set(principal) == {"service_account"}:
        try:
            account = service_account_get(str(principal["service_account"]))
        except NotFound as exc:
            raise BadRequest(
                exc.message, details=[{"field": "principal.service_account", "message": exc.message}]
            ) from exc
        # Simulated as a full (un-narrowed) token of the account; no key is involved in deciding.
        return ServiceAccountPrincipal(service_account=account, key=None, claims={})  # type: ignore[arg-type]
    if set(principal) == {"user"}:
        user = user_get_by_email(str(principal["user"]))
        if user is None:
            message = f"No user with email {principal['user']}."
            raise BadRequest(message, details=[{"field": "principal.user", "message": message}])
        return user
    raise BadRequest(
        'principal is {"service_account": client_id} or {"user": email}.',
        details=[{"field": "principal", "message": "exactly one of service_account or user"}],
    )


class SimulateView(ManagementView):
    permission_classes = [IsVaultOwner]

    @extend_schema(
        tags=["policies"],
        summary="Simulate a decision: per column the level, the row condition and the deciding statements",
        request=SimulateSerializer,
        responses={200: OpenApiTypes.OBJECT, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        body = parsed(SimulateSerializer, request)
        try:
            vault = vault_get(body["vault"])
        except NotFound:
            vault = None
        scope = vault_owner_scope(request.user)
        if vault is None or (scope is not None and str(vault.id) not in scope):
            raise BadRequest(f"No vault with id {body['vault']}.", details=[{"field": "vault", "message": "unknown"}])
        caller = _caller(body["principal"])
        from vaults.models import Table

        if not Table.objects.filter(vault=vault, name=body["table"]).exists():
            raise BadRequest(
                f"No table {body['table']} in this vault.", details=[{"field": "table", "message": "unknown"}]
            )
        decision = decide_for(
            caller,
            vault,
            body["action"],
            body["table"],
            body.get("columns") or None,
            None if body.get("redaction") in (None, "DEFAULT") else body["redaction"],
            body.get("context"),
        )
        return Response(decision.as_dict())
