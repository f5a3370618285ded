"""The OpenAPI document at /api/schema/ and the Swagger UI at /api/docs/ with local assets only."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

DOCUMENTED = {
    "/api/v1/service-accounts/": {"get", "post"},
    "/api/v1/service-accounts/{id}/": {"get", "patch", "delete"},
    "/api/v1/service-accounts/{id}/keys/": {"get", "post"},
    "/api/v1/service-accounts/{id}/keys/{key_id}/": {"delete"},
    "/api/v1/roles/": {"get", "post"},
    "/api/v1/roles/{id}/": {"get", "patch", "delete"},
    "/api/v1/roles/{id}/bindings/": {"get", "post"},
    "/api/v1/roles/{id}/bindings/{binding_id}/": {"delete"},
    "/api/v1/users/": {"get"},
    "/api/v1/users/{id}/": {"get"},
    "/api/v1/groups/": {"get"},
}


@pytest.fixture
def schema() -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_documents_every_management_endpoint(schema):
    for path, methods in DOCUMENTED.items():
        assert path in schema["paths"], path
        operations = schema["paths"][path]
        assert methods <= set(operations), (path, set(operations))
        for method in methods:
            operation = operations[method]
            assert operation.get("summary"), (path, method)
            assert {"401", "403"} <= set(operation["responses"]), (path, method)
            assert {"bearerAuth": []} in operation["security"]


def test_schema_carries_the_contract_names(schema):
    components = schema["components"]["schemas"]
    account = components["ServiceAccount"]["properties"]
    assert {
        "id",
        "client_id",
        "name",
        "description",
        "is_active",
        "ip_allowlist",
        "token_ttl_seconds",
        "created_at",
        "keys",
    } <= set(account)
    assert set(components["Credentials"]["properties"]) == {"clientID", "clientName", "keyID", "tokenURI", "privateKey"}
    assert {"id", "role", "subject_type", "subject", "vault", "expires_at", "created_at"} <= set(
        components["RoleBinding"]["properties"]
    )
    assert "password" not in components["User"]["properties"]
    # Lists are documented as {"results", "count"} with limit/offset parameters.
    page = components["PaginatedServiceAccountList"]
    assert set(page["properties"]) == {"results", "count"}
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/users/"]["get"]["parameters"]}
    assert parameters["limit"]["schema"]["maximum"] == 1000 and parameters["limit"]["schema"]["default"] == 100
    # Errors use the one envelope.
    error = components["ErrorEnvelope"]["properties"]["error"]
    assert error["$ref"].endswith("/Error")
    assert set(components["Error"]["properties"]) == {"grpc_code", "http_code", "http_status", "message", "details"}
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from POST /v1/auth/sa/oauth/token.",
    }


def test_key_creation_documents_both_modes(schema):
    operation = schema["paths"]["/api/v1/service-accounts/{id}/keys/"]["post"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    alternatives = schema["components"]["schemas"][request]["oneOf"]
    assert len(alternatives) == 2
    created = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert len(schema["components"]["schemas"][created]["oneOf"]) == 2


def test_docs_page_loads_only_local_assets():
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    # The page's own script is served apart (?script=), so the strict CSP needs no inline script;
    # only inline styles (Swagger UI sets them at run time) are allowed, and on this page alone.
    policy = response["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self'" in policy and "script-src 'self' 'unsafe-inline'" not in policy
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    script = APIClient().get("/api/docs/?script=")
    assert script.status_code == 200
    assert b"SwaggerUIBundle" in script.content and b'"/api/schema/"' in script.content
    assets = re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/") or asset == "/api/docs/?script=", asset
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), "an asset is loaded from elsewhere"
    assert not re.search(r"""url\(\s*["']?(?:https?:)?//""", html)


def test_docs_assets_are_served(client):
    html = client.get("/api/docs/").content.decode()
    for asset in re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', html):
        response = client.get(asset)
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, asset
