"""Management API views for roles and role bindings (DESIGN.md §15).

Thin interfaces over ``policies.services`` (which audit, refuse to rename or delete built-in roles
and refuse to attach policies to them); every view needs the built-in ACCOUNT_ADMIN role. The
policies themselves are managed by vault owners, in ``policy_views``.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.principals import actor_of
from policies.models import Policy
from policies.selectors import role_binding_get, role_bindings, role_get, roles_list
from policies.services import binding_create, binding_delete, role_create, role_delete, role_update
from vaultstudio.api import ManagementView, error_responses, parsed, path_id

from .serializers import (
    DeletedSerializer,
    RoleBindingCreateSerializer,
    RoleBindingSerializer,
    RoleCreateSerializer,
    RoleSerializer,
    RoleUpdateSerializer,
)

_TAGS = ["roles"]
_ROLE_ID = path_id("id", "The role's id.")


class RoleListView(ManagementView):
    """GET/POST /api/v1/roles/ — list roles, create a custom one."""

    serializer_class = RoleSerializer

    @extend_schema(
        tags=_TAGS,
        summary="List roles (built-in and custom)",
        responses={200: RoleSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        # Each role shows its policy ids: one query for every role on the page, not one per role, and
        # only the ids (a policy's text and compiled form are no business of this list).
        policy_ids = Prefetch("policies", queryset=Policy.objects.only("id").order_by())
        return self.paginated(roles_list().prefetch_related(policy_ids), RoleSerializer)

    @extend_schema(
        tags=_TAGS,
        summary="Create a custom role, optionally carrying policies",
        request=RoleCreateSerializer,
        responses={201: RoleSerializer, **error_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        body = parsed(RoleCreateSerializer, request)
        role = role_create(
            actor=actor_of(request.user),
            name=body["name"],
            description=body["description"],
            policies=body["policies"],
        )
        return Response(RoleSerializer(role).data, status=201)


class RoleDetailView(ManagementView):
    """GET/PATCH/DELETE /api/v1/roles/{id}/ — read, change, delete a role."""

    serializer_class = RoleSerializer

    @extend_schema(
        tags=_TAGS,
        summary="Get a role",
        parameters=[_ROLE_ID],
        responses={200: RoleSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(RoleSerializer(role_get(id)).data)

    @extend_schema(
        tags=_TAGS,
        summary="Change a role's name, description or policies",
        parameters=[_ROLE_ID],
        description=(
            "Built-in roles keep their names and carry no policies (they grant management rights only); their "
            "descriptions may change. A `policies` list replaces the role's policies."
        ),
        request=RoleUpdateSerializer,
        responses={200: RoleSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, id: str) -> Response:
        body = parsed(RoleUpdateSerializer, request)
        role = role_update(
            actor=actor_of(request.user),
            role=role_get(id),
            name=body.get("name"),
            description=body.get("description"),
            policies=body.get("policies"),
        )
        return Response(RoleSerializer(role).data)

    @extend_schema(
        tags=_TAGS,
        summary="Delete a custom role and its bindings",
        parameters=[_ROLE_ID],
        description="Built-in roles cannot be deleted.",
        responses={200: DeletedSerializer, **error_responses(400, 401, 403, 404)},
    )
    def delete(self, request: Request, id: str) -> Response:
        role = role_get(id)
        role_id = str(role.id)
        role_delete(actor=actor_of(request.user), role=role)
        return Response({"deleted": True, "id": role_id})


class RoleBindingListView(ManagementView):
    """GET/POST /api/v1/roles/{id}/bindings/ — list a role's bindings, bind it to a subject."""

    serializer_class = RoleBindingSerializer

    @extend_schema(
        tags=_TAGS,
        summary="List a role's bindings",
        parameters=[_ROLE_ID],
        responses={200: RoleBindingSerializer(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, id: str) -> Response:
        return self.paginated(role_bindings(role_get(id)), RoleBindingSerializer)

    @extend_schema(
        tags=_TAGS,
        summary="Bind the role to a service account, a person or a group",
        parameters=[_ROLE_ID],
        description=(
            'Name exactly one subject: `{"service_account": client_id}`, `{"user": email}` or `{"group": name}`; '
            'optional `"expires_at"`, and for built-in roles an optional `"vault"` to limit the binding to one vault.'
        ),
        request=RoleBindingCreateSerializer,
        responses={201: RoleBindingSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, id: str) -> Response:
        role = role_get(id)
        body = parsed(RoleBindingCreateSerializer, request)
        vault = body.get("vault")
        binding = binding_create(
            actor=actor_of(request.user),
            role=role,
            user=body.get("user"),
            group=body.get("group"),
            service_account=body.get("service_account"),
            vault_id=str(vault) if vault else None,
            expires_at=body.get("expires_at"),
        )
        return Response(RoleBindingSerializer(binding).data, status=201)


class RoleBindingDetailView(ManagementView):
    """DELETE /api/v1/roles/{id}/bindings/{binding_id}/ — remove a binding."""

    serializer_class = RoleBindingSerializer

    @extend_schema(
        tags=_TAGS,
        summary="Remove a binding",
        parameters=[_ROLE_ID, path_id("binding_id", "The binding's id.")],
        responses={200: DeletedSerializer, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, id: str, binding_id: str) -> Response:
        binding = role_binding_get(role_get(id), binding_id)
        deleted_id = str(binding.id)
        binding_delete(actor=actor_of(request.user), binding=binding)
        return Response({"deleted": True, "id": deleted_id})
