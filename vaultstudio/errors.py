"""The one error envelope of every API response (SKYFLOW_WIRE.md §6, DESIGN.md §15).

``{"error": {"grpc_code", "http_code", "http_status", "message", "details": [...]}}`` with
``Content-Type: application/json`` — for errors raised by our code, by DRF and by Django itself.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

# HTTP status → gRPC code, as Skyflow's API pairs them.
GRPC_CODES = {
    400: 3,  # INVALID_ARGUMENT
    401: 16,  # UNAUTHENTICATED
    403: 7,  # PERMISSION_DENIED
    404: 5,  # NOT_FOUND
    405: 12,  # UNIMPLEMENTED
    406: 3,
    409: 6,  # ALREADY_EXISTS
    410: 5,
    412: 9,  # FAILED_PRECONDITION
    413: 3,
    415: 3,
    429: 8,  # RESOURCE_EXHAUSTED
    500: 13,  # INTERNAL
    501: 12,
    503: 14,  # UNAVAILABLE
}

# Paths whose errors are JSON; everything else (the studio) keeps HTML error pages.
API_PREFIXES = ("/v1/", "/api/", "/.well-known/", "/scim/")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def error_body(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {
        "error": {
            "grpc_code": GRPC_CODES.get(status, 13 if status >= 500 else 3),
            "http_code": status,
            "http_status": phrase,
            "message": message,
            "details": details or [],
        }
    }


def error_response(status: int, message: str, details: list[dict[str, Any]] | None = None) -> JsonResponse:
    return JsonResponse(error_body(status, message, details), status=status)


class VaultError(drf_exceptions.APIException):
    """Base of our own API errors: a status, a message for the caller and optional details."""

    status_code = 400
    default_detail = "The request is invalid."

    def __init__(
        self, message: str | None = None, *, details: list[dict[str, Any]] | None = None, status: int | None = None
    ) -> None:
        super().__init__(message or self.default_detail)
        self.message = message or str(self.default_detail)
        self.details = details or []
        if status is not None:
            self.status_code = status


class BadRequest(VaultError):
    status_code = 400


class Unauthenticated(VaultError, drf_exceptions.AuthenticationFailed):
    """401; a subclass of DRF's AuthenticationFailed so DRF adds the WWW-Authenticate header."""

    status_code = 401
    default_detail = "Authentication failed."


class Forbidden(VaultError):
    status_code = 403
    default_detail = "You are not allowed to do this."


class NotFound(VaultError):
    status_code = 404
    default_detail = "Not found."


class Conflict(VaultError):
    status_code = 409
    default_detail = "The request conflicts with the current state."


def _flatten_validation(detail: Any, path: str = "") -> list[dict[str, Any]]:
    """Turn DRF's nested ValidationError detail into a flat list of {field, message}."""
    if isinstance(detail, dict):
        out: list[dict[str, Any]] = []
        for key, value in detail.items():
            field = key if key != "non_field_errors" else ""
            out.extend(_flatten_validation(value, f"{path}.{field}" if path and field else field or path))
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            out.extend(_flatten_validation(value, f"{path}[{index}]" if nested else path))
        return out
    return [{"field": path, "message": str(detail)}]


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error in our envelope."""
    if isinstance(exc, VaultError):
        from audit.services import append_deferred  # circular at import time

        # A refusal raised inside a transaction carried its audit event out of the rollback.
        append_deferred(exc)
        response = Response(error_body(exc.status_code, exc.message, exc.details), status=exc.status_code)
    elif isinstance(exc, drf_exceptions.ValidationError):
        details = _flatten_validation(exc.detail)
        summary = "; ".join(f"{d['field']}: {d['message']}" if d["field"] else d["message"] for d in details)
        response = Response(error_body(400, f"Invalid request: {summary}", details), status=400)
    elif isinstance(exc, drf_exceptions.APIException):
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response = Response(error_body(exc.status_code, str(message)), status=exc.status_code)
    elif isinstance(exc, Http404):
        response = Response(error_body(404, "Not found."), status=404)
    elif isinstance(exc, PermissionDenied):
        response = Response(error_body(403, "You are not allowed to do this."), status=403)
    else:
        return None  # unhandled: Django's 500 path, turned into the envelope by the middleware
    from rest_framework.views import exception_handler as drf_exception_handler  # circular at import time

    base = drf_exception_handler(exc, context)
    if base is not None:
        for header in ("WWW-Authenticate", "Retry-After", "Allow"):
            if header in base:
                response[header] = base[header]
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF_FAILURE_VIEW: a JSON envelope for API paths, Django's page elsewhere."""
    if is_api_path(request.path):
        return error_response(403, f"CSRF check failed: {reason}. Send the CSRF token, or use a bearer token.")
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)  # type: ignore[return-value]
