"""Request plumbing: an ``X-Request-Id`` on every response and the JSON error envelope on API paths."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.context import RequestMeta, current_request

from .errors import error_response, is_api_path
from .net import client_ip

logger = logging.getLogger("django.request")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

_MESSAGES = {
    400: "The request is invalid.",
    401: "Authentication is required: send 'Authorization: Bearer <accessToken>'.",
    403: "You are not allowed to do this.",
    404: "Not found: no such endpoint or resource.",
    405: "Method not allowed on this endpoint.",
    413: "The request body is too large.",
    500: "Internal error. Quote the request id to your operator.",
}


class RequestIdMiddleware:
    """Echo the caller's X-Request-Id (when well-formed) or make one; expose it as request.request_id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else str(uuid.uuid4())
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_request.set(
            RequestMeta(
                request_id=request_id,
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", "")[:512],
                method=request.method or "",
                path=request.path[:512],
            )
        )
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response["X-Request-Id"] = request_id
        return response


class ApiErrorEnvelopeMiddleware:
    """On API paths, turn every non-JSON error (Django's 404/405/500 pages) into the envelope.

    Also catches exceptions that escape a view, so that a traceback never reaches an API caller,
    even with DEBUG=True.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api_path(request.path)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            status = response.status_code
            message = _MESSAGES.get(status, "The request failed.")
            if status == 404:
                message = f"Not found: no endpoint or resource at {request.path}."
            elif status == 405:
                message = f"Method {request.method} is not allowed on {request.path}."
            wrapped = error_response(status, message)
            for header in ("Allow", "WWW-Authenticate", "Retry-After"):
                if header in response:
                    wrapped[header] = response[header]
            return wrapped
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            return None
        from django.core.exceptions import PermissionDenied, RequestDataTooBig
        from django.http import Http404

        if isinstance(exception, Http404):
            return error_response(404, f"Not found: no endpoint or resource at {request.path}.")
        if isinstance(exception, PermissionDenied):
            return error_response(403, _MESSAGES[403])
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, "The request body is too large.")
        logger.error("Unhandled error on %s %s", request.method, request.path, exc_info=exception)
        request_id = getattr(request, "request_id", "")
        return error_response(500, f"Internal error. Quote request id {request_id} to your operator.")
