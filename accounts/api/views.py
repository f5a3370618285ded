"""Management API views for service accounts, their keys, people and groups (DESIGN.md §15).

Thin interfaces: parse with a serializer, call one service (or selector), shape the output. Every
view needs the built-in ACCOUNT_ADMIN role; the services write the audit events.
"""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.principals import actor_of
from accounts.selectors import (
    group_list,
    service_account_get,
    service_account_key_get,
    service_account_keys,
    service_account_list,
    user_get,
    user_list,
)
from accounts.services import (
    service_account_create,
    service_account_key_generate,
    service_account_key_register,
    service_account_key_revoke,
    service_account_update,
)
from vaultstudio.api import ManagementView, error_responses, parsed, path_id

from .serializers import (
    CredentialsSerializer,
    GroupSerializer,
    ServiceAccountCreateSerializer,
    ServiceAccountKeyCreateSerializer,
    ServiceAccountKeyGenerateRequestSerializer,
    ServiceAccountKeyRegisterRequestSerializer,
    ServiceAccountKeySerializer,
    ServiceAccountSerializer,
    ServiceAccountUpdateSerializer,
    UserSerializer,
)

_ACCOUNT_ID = path_id("id", "The service account's id (its client_id is accepted too).")
_TAGS = ["service accounts"]

# --- service accounts -------------------------------------------------------------------------------


class ServiceAccountListView(ManagementView):
    """GET/POST /api/v1/service-accounts/ — list service accounts, create one."""

    serializer_class = ServiceAccountSerializer

    @extend_schema(
        tags=_TAGS,
        summary="List service accounts with their keys",
        responses={200: ServiceAccountSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        return self.paginated(service_account_list().prefetch_related("keys"), ServiceAccountSerializer)

    @extend_schema(
        tags=_TAGS,
        summary="Create a service account (add a key next)",
        request=ServiceAccountCreateSerializer,
        responses={201: ServiceAccountSerializer, **error_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        account = service_account_create(
            actor=actor_of(request.user), **parsed(ServiceAccountCreateSerializer, request)
        )
        return Response(ServiceAccountSerializer(account).data, status=201)


class ServiceAccountDetailView(ManagementView):
    """GET/PATCH/DELETE /api/v1/service-accounts/{id}/ — read, change, deactivate."""

    serializer_class = ServiceAccountSerializer

    @extend_schema(
        tags=_TAGS,
        summary="Get a service account",
        parameters=[_ACCOUNT_ID],
        responses={200: ServiceAccountSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(ServiceAccountSerializer(service_account_get(id)).data)

    @extend_schema(
        tags=_TAGS,
        summary="Change a service account",
        parameters=[_ACCOUNT_ID],
        description="Deactivating (`is_active: false`) ends its tokens on their next request.",
        request=ServiceAccountUpdateSerializer,
        responses={200: ServiceAccountSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, id: str) -> Response:
        changes = parsed(ServiceAccountUpdateSerializer, request)
        account = service_account_update(actor=actor_of(request.user), account=service_account_get(id), **changes)
        return Response(ServiceAccountSerializer(account).data)

    @extend_schema(
        tags=_TAGS,
        summary="Deactivate a service account",
        parameters=[_ACCOUNT_ID],
        description=(
            "Deactivates; never deletes, because the audit trail keeps referring to the account. "
            "Its tokens stop working on their next request. Answers with the account."
        ),
        responses={200: ServiceAccountSerializer, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, id: str) -> Response:
        account = service_account_update(actor=actor_of(request.user), account=service_account_get(id), is_active=False)
        return Response(ServiceAccountSerializer(account).data)


# --- keys -------------------------------------------------------------------------------------------

_KEY_REQUEST = PolymorphicProxySerializer(
    component_name="ServiceAccountKeyRequest",
    serializers=[ServiceAccountKeyGenerateRequestSerializer, ServiceAccountKeyRegisterRequestSerializer],
    resource_type_field_name=None,
)
_KEY_CREATED = PolymorphicProxySerializer(
    component_name="ServiceAccountKeyCreated",
    serializers=[CredentialsSerializer, ServiceAccountKeySerializer],
    resource_type_field_name=None,
)


class ServiceAccountKeyListView(ManagementView):
    """GET/POST /api/v1/service-accounts/{id}/keys/ — list keys, generate or register one."""

    serializer_class = ServiceAccountKeySerializer

    @extend_schema(
        tags=_TAGS,
        summary="List a service account's keys, with expiry and last use",
        parameters=[_ACCOUNT_ID],
        responses={200: ServiceAccountKeySerializer(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, id: str) -> Response:
        return self.paginated(service_account_keys(service_account_get(id)), ServiceAccountKeySerializer)

    @extend_schema(
        tags=_TAGS,
        summary="Generate a key pair or register a public key",
        parameters=[_ACCOUNT_ID],
        description=(
            '`{"generate": true}` answers with the credentials.json document: the only time the private key '
            'exists outside the caller (sent with `Cache-Control: no-store`). `{"public_key": PEM, "algorithm": '
            '"RS256"|"ES256"}` registers a key whose private half never leaves you, and answers with the key. '
            "An account has at most two active keys, so that keys can be rotated without downtime."
        ),
        request=_KEY_REQUEST,
        responses={201: _KEY_CREATED, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, id: str) -> Response:
        account = service_account_get(id)
        body = parsed(ServiceAccountKeyCreateSerializer, request)
        actor = actor_of(request.user)
        if body["generate"]:
            _key, credentials = service_account_key_generate(
                actor=actor,
                account=account,
                algorithm=body["algorithm"],
                expires_at=body.get("expires_at"),
            )
            response = Response(credentials, status=201)
            # The body holds a private key: no browser, proxy or client cache may keep a copy.
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
            return response
        key = service_account_key_register(
            actor=actor,
            account=account,
            public_key=body["public_key"],
            algorithm=body["algorithm"],
            expires_at=body.get("expires_at"),
        )
        return Response(ServiceAccountKeySerializer(key).data, status=201)


class ServiceAccountKeyDetailView(ManagementView):
    """DELETE /api/v1/service-accounts/{id}/keys/{key_id}/ — revoke a key."""

    serializer_class = ServiceAccountKeySerializer

    @extend_schema(
        tags=_TAGS,
        summary="Revoke a key",
        description="Tokens obtained with the key stop working on their next request. Answers with the key.",
        parameters=[_ACCOUNT_ID, path_id("key_id", "The key's keyID.")],
        responses={200: ServiceAccountKeySerializer, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, id: str, key_id: str) -> Response:
        key = service_account_key_get(service_account_get(id), key_id)
        key = service_account_key_revoke(actor=actor_of(request.user), key=key)
        return Response(ServiceAccountKeySerializer(key).data)


# --- people -----------------------------------------------------------------------------------------


class UserListView(ManagementView):
    """GET /api/v1/users/ — people, never their password hashes."""

    serializer_class = UserSerializer

    @extend_schema(
        tags=["people"],
        summary="List people",
        responses={200: UserSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        return self.paginated(user_list(), UserSerializer)


class UserDetailView(ManagementView):
    """GET /api/v1/users/{id}/ — one person."""

    serializer_class = UserSerializer

    @extend_schema(
        tags=["people"],
        summary="Get a person",
        parameters=[path_id("id", "The user's id.")],
        responses={200: UserSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, id: str) -> Response:
        return Response(UserSerializer(user_get(id)).data)


class GroupListView(ManagementView):
    """GET /api/v1/groups/ — groups with their members as emails."""

    serializer_class = GroupSerializer

    @extend_schema(
        tags=["people"],
        summary="List groups with their members' emails",
        responses={200: GroupSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        return self.paginated(group_list(), GroupSerializer)
