"""Management API views for vaults and their schema. VAULT_OWNER only; a binding scoped to one vault
sees only that vault (others answer 404, like a vault that does not exist)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.principals import actor_of
from policies.permissions import IsVaultOwner
from policies.selectors import vault_owner_scope
from vaults.models import Vault
from vaults.selectors import vault_get, vault_list, vault_schema
from vaults.services import parse_schema_or_400, vault_create, vault_delete, vault_schema_update, vault_update
from vaultstudio.api import ManagementView, error_responses, parsed, path_id
from vaultstudio.errors import Forbidden, NotFound

from .serializers import (
    SchemaDocumentSerializer,
    SchemaUpdateResultSerializer,
    VaultCreateSerializer,
    VaultSerializer,
    VaultUpdateSerializer,
)

_TAGS = ["vaults"]
_VAULT_ID = path_id("id", "The vault's id.")


class VaultOwnerView(ManagementView):
    permission_classes = [IsVaultOwner]

    def scope(self, request: Request) -> set[str] | None:
        return vault_owner_scope(request.user)

    def owned_vault(self, request: Request, vault_id: str) -> Vault:
        vault = vault_get(vault_id)
        scope = self.scope(request)
        if scope is not None and str(vault.id) not in scope:
            raise NotFound(f"No vault with id {vault_id}.")
        return vault


class VaultListView(VaultOwnerView):
    """GET/POST /api/v1/vaults/ — the vaults you own; create one (needs an unscoped VAULT_OWNER)."""

    serializer_class = VaultSerializer

    @extend_schema(
        tags=_TAGS, summary="List vaults", responses={200: VaultSerializer(many=True), **error_responses(400, 401, 403)}
    )
    def get(self, request: Request) -> Response:
        vaults = vault_list()
        scope = self.scope(request)
        if scope is not None:
            vaults = vaults.filter(pk__in=list(scope))
        return self.paginated(vaults, VaultSerializer)

    @extend_schema(
        tags=_TAGS,
        summary="Create a vault, optionally with its schema",
        request=VaultCreateSerializer,
        responses={201: VaultSerializer, **error_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        if self.scope(request) is not None:
            raise Forbidden("Creating a vault needs a VAULT_OWNER binding that is not limited to one vault.")
        body = parsed(VaultCreateSerializer, request)
        schema = parse_schema_or_400(body["schema"]) if body.get("schema") is not None else None
        vault = vault_create(
            actor=actor_of(request.user), name=body["name"], description=body["description"], schema=schema
        )
        return Response(VaultSerializer(vault).data, status=201)


class VaultDetailView(VaultOwnerView):
    """GET/PATCH/DELETE /api/v1/vaults/{id}/."""

    serializer_class = VaultSerializer

    @extend_schema(
        tags=_TAGS,
        summary="Get a vault",
        parameters=[_VAULT_ID],
        responses={200: VaultSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(VaultSerializer(self.owned_vault(request, id)).data)

    @extend_schema(
        tags=_TAGS,
        summary="Rename a vault or change its description or key rotation period",
        parameters=[_VAULT_ID],
        request=VaultUpdateSerializer,
        responses={200: VaultSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, id: str) -> Response:
        vault = self.owned_vault(request, id)
        vault = vault_update(actor=actor_of(request.user), vault=vault, **parsed(VaultUpdateSerializer, request))
        return Response(VaultSerializer(vault).data)

    @extend_schema(
        tags=_TAGS,
        summary="Delete a vault (one holding records needs ?confirm=delete)",
        parameters=[
            _VAULT_ID,
            OpenApiParameter("confirm", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=["delete"]),
        ],
        responses={200: OpenApiTypes.OBJECT, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request: Request, id: str) -> Response:
        vault = self.owned_vault(request, id)
        vault_id = str(vault.id)
        vault_delete(actor=actor_of(request.user), vault=vault, confirm=request.query_params.get("confirm") == "delete")
        return Response({"deleted": True, "id": vault_id})


class VaultSchemaView(VaultOwnerView):
    """GET/PUT /api/v1/vaults/{id}/schema — the whole schema as one JSON document."""

    serializer_class = SchemaDocumentSerializer

    @extend_schema(
        tags=_TAGS,
        summary="Get the schema document",
        parameters=[_VAULT_ID],
        responses={200: SchemaDocumentSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(vault_schema(self.owned_vault(request, id)).as_document())

    @extend_schema(
        tags=_TAGS,
        summary="Replace the schema: add, change and drop tables and columns",
        description="Dropping a table or column that holds data needs ?confirm=drop. Changes that would need "
        "stored values rewritten (data_type, encrypted; turning on searchable, unique, required or validation) "
        "are refused while the column holds data.",
        parameters=[_VAULT_ID, OpenApiParameter("confirm", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=["drop"])],
        request=SchemaDocumentSerializer,
        responses={200: SchemaUpdateResultSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def put(self, request: Request, id: str) -> Response:
        vault = self.owned_vault(request, id)
        spec = parse_schema_or_400(request.data)
        changes: dict[str, Any] = vault_schema_update(
            actor=actor_of(request.user),
            vault=vault,
            schema=spec,
            confirm_drop=request.query_params.get("confirm") == "drop",
        )
        return Response({"schema": vault_schema(vault).as_document(), "changes": changes})
