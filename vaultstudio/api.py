"""The shared shape of the management API: errors, strict input, pagination, base view, OpenAPI.

Used by ``accounts.api`` and ``policies.api``. Importing this module also registers the
``bearerAuth`` security scheme with drf-spectacular (see ``ServiceAccountTokenScheme``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from policies.permissions import IsAccountAdmin
from vaultstudio.errors import BadRequest

# --- the error envelope, for the OpenAPI document ----------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    field = serializers.CharField(required=False, help_text="Which input field the problem is about.")
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    grpc_code = serializers.IntegerField()
    http_code = serializers.IntegerField()
    http_status = serializers.CharField()
    message = serializers.CharField(help_text="What was wrong, and what to do.")
    details = ErrorDetailSerializer(many=True)


class ErrorEnvelopeSerializer(serializers.Serializer):
    """``{"error": {...}}`` — the body of every error response."""

    error = ErrorSerializer()


# --- input --------------------------------------------------------------------------------------


class StrictInputSerializer(serializers.Serializer):
    """A request body that refuses fields it does not know.

    DRF drops unknown keys silently; for automation that hides typos (``"ip_allow_list"``) behind a
    200, so a misspelt field is a 400 naming it, reported together with the other problems.
    """

    def to_internal_value(self, data: Any) -> Any:
        errors: dict[str, Any] = {}
        value: Any = None
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            errors.update(exc.detail)
        if isinstance(data, Mapping):
            accepted = ", ".join(self.fields)
            for name in sorted(set(data) - set(self.fields)):
                errors[name] = [f"Unknown field. This endpoint accepts: {accepted}."]
        if errors:
            raise serializers.ValidationError(errors)
        return value


def parsed(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The validated request body; a 400 in the error envelope listing every problem otherwise."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- pagination and the base view ---------------------------------------------------------------


class ManagementPagination(LimitOffsetPagination):
    """``?limit=&offset=`` → ``{"results": [...], "count": N}`` on every management list endpoint.

    DRF silently falls back to the default on a malformed value; a script that sends ``limit=ten``
    would then page wrongly without noticing, so malformed values are a 400 here. A limit above the
    maximum is clamped, as DRF does, and ``count`` lets the caller page on.
    """

    default_limit = 100
    max_limit = 1000

    def _int_param(self, request: Any, name: str, default: int, minimum: int) -> int:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise BadRequest(f"{name} must be an integer of at least {minimum}; got {raw!r}.")
        return value

    def get_limit(self, request: Any) -> int:
        return min(self._int_param(request, self.limit_query_param, self.default_limit, 1), self.max_limit)

    def get_offset(self, request: Any) -> int:
        return self._int_param(request, self.offset_query_param, 0, 0)

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "count": self.count})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "count"],
            "properties": {
                "results": schema,
                "count": {"type": "integer", "description": "How many items match, over all pages."},
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.limit_query_param,
                "in": "query",
                "required": False,
                "description": f"Items per page (default {self.default_limit}, at most {self.max_limit}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_limit, "default": self.default_limit},
            },
            {
                "name": self.offset_query_param,
                "in": "query",
                "required": False,
                "description": "How many items to skip.",
                "schema": {"type": "integer", "minimum": 0, "default": 0},
            },
        ]


class ManagementView(GenericAPIView):
    """Base of the management views: ACCOUNT_ADMIN only, paginated lists."""

    permission_classes = [IsAccountAdmin]
    pagination_class = ManagementPagination

    def paginated(self, queryset: Any, serializer_class: type[serializers.Serializer]) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


# --- OpenAPI --------------------------------------------------------------------------------------


class ServiceAccountTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``accounts.authentication.ServiceAccountTokenAuthentication`` as HTTP bearer (JWT).

    drf-spectacular finds extensions when their module is imported; the URL conf includes the
    management views, which import this module, before the schema is generated.
    """

    target_class = "accounts.authentication.ServiceAccountTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from POST /v1/auth/sa/oauth/token.",
        }


_ERROR_MEANINGS = {
    400: "The request is invalid; the message and details say what to change.",
    401: "No bearer token or session, or the token is expired or revoked.",
    403: "The caller lacks the management role this endpoint needs.",
    404: "No such object.",
    409: "Conflicts with the current state (a duplicate name, the active-key limit).",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the error envelope under the given status codes."""
    return {code: OpenApiResponse(ErrorEnvelopeSerializer, description=_ERROR_MEANINGS[code]) for code in codes}


def path_id(name: str, description: str) -> OpenApiParameter:
    """A UUID path parameter, documented."""
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=description)
