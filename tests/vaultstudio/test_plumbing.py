"""Request ids on every response and the one JSON error envelope for every API error."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.probe_urls")]


def assert_envelope(response, status, message_part=""):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Request-Id"]
    error = response.json()["error"]
    assert set(error) == {"grpc_code", "http_code", "http_status", "message", "details"}
    assert error["http_code"] == status and isinstance(error["grpc_code"], int) and isinstance(error["details"], list)
    assert message_part.lower() in error["message"].lower(), error["message"]
    return error


def test_request_id_is_echoed(client):
    response = client.get("/.well-known/jwks.json", HTTP_X_REQUEST_ID="abc-123.req")
    assert response["X-Request-Id"] == "abc-123.req"


def test_request_id_is_generated_when_absent_or_malformed(client):
    first = client.get("/.well-known/jwks.json")["X-Request-Id"]
    second = client.get("/.well-known/jwks.json", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-Id"]
    assert len(first) == 36 and len(second) == 36 and first != second


def test_request_id_on_errors_too(client):
    response = client.get("/v1/nope", HTTP_X_REQUEST_ID="trace-1")
    assert response["X-Request-Id"] == "trace-1"


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_api_path_is_a_json_404(client, settings, debug):
    settings.DEBUG = debug
    error = assert_envelope(client.get("/api/v1/does-not-exist"), 404, "no endpoint")
    assert error["grpc_code"] == 5 and error["http_status"] == "Not Found"


def test_405_from_drf(client):
    assert_envelope(client.get("/v1/auth/sa/oauth/token"), 405, "not allowed")


def test_405_from_plain_django_view(client):
    assert_envelope(client.post("/.well-known/jwks.json"), 405, "not allowed")


def test_401_without_credentials(client):
    error = assert_envelope(client.get("/api/v1/_probe/whoami"), 401, "authentication")
    assert error["grpc_code"] == 16


def test_403_from_permission_denied(client):
    assert_envelope(client.get("/api/v1/_probe/deny"), 403, "not allowed")


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/v1/_probe/boom", "/api/v1/_probe/plain-boom"])
def test_500_is_an_envelope_without_internals(client, settings, debug, path):
    settings.DEBUG = debug
    client.raise_request_exception = False
    response = client.get(path, HTTP_X_REQUEST_ID="req-500")
    error = assert_envelope(response, 500, "req-500")
    assert "kaboom" not in response.content.decode() and "Traceback" not in response.content.decode()
    assert error["grpc_code"] == 13


def test_oversized_body_is_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/v1/auth/sa/oauth/token", data="x" * 5000, content_type="application/json")
    assert_envelope(response, 413, "too large")


def test_validation_error_lists_each_problem():
    from rest_framework import serializers

    from vaultstudio.errors import api_exception_handler

    exc = serializers.ValidationError({"name": ["This field is required."], "ip_allowlist": {"0": ["bad"]}})
    response = api_exception_handler(exc, {})
    body = response.data["error"]
    assert response.status_code == 400 and body["grpc_code"] == 3
    assert {"field": "name", "message": "This field is required."} in body["details"]
    assert any(d["field"].startswith("ip_allowlist") for d in body["details"])


def test_studio_paths_keep_html_errors(client):
    response = client.get("/not-an-api-path")
    assert response.status_code == 404 and not response["Content-Type"].startswith("application/json")
