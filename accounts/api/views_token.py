"""The token endpoint and the JWKS document."""

from __future__ import annotations

import json
from typing import Any

from django.http import JsonResponse, QueryDict
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import signing
from accounts.services import token_exchange
from accounts.tokens import TokenRefused
from vaultstudio.errors import Unauthenticated
from vaultstudio.net import client_ip


def _parse_body(request: Request) -> Any:
    """JSON whatever the Content-Type says (Skyflow's SDKs), or an urlencoded form."""
    raw = request._request.body
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        form = QueryDict(raw, encoding="utf-8")
        return {key: form.get(key) for key in form}
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


class TokenView(APIView):
    """POST /v1/auth/sa/oauth/token — RFC 7523 JWT-bearer grant. Ignores any Authorization header."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        # Without authentication classes DRF would turn our 401s into 403s.
        return 'Bearer realm="vaultstudio"'

    @extend_schema(
        summary="Exchange a signed service-account assertion for an access token",
        request=inline_serializer(
            "TokenRequest",
            {
                "grant_type": serializers.CharField(),
                "assertion": serializers.CharField(),
                "scope": serializers.CharField(required=False, allow_null=True),
            },
        ),
        responses={
            200: inline_serializer(
                "TokenResponse", {"accessToken": serializers.CharField(), "tokenType": serializers.CharField()}
            ),
            401: OpenApiResponse(description="Refused; the message names the reason."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        try:
            result = token_exchange(body=_parse_body(request), ip=client_ip(request._request))
        except TokenRefused as exc:
            raise Unauthenticated(exc.message) from exc
        response = Response(result)
        response["Cache-Control"] = "no-store"
        return response


def jwks_view(request: Any) -> JsonResponse:
    """GET /.well-known/jwks.json — the public keys that verify VaultStudio's access tokens."""
    response = JsonResponse(signing.jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response
