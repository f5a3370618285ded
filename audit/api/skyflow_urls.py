"""Skyflow-shaped audit endpoint: GET /v1/audit/events."""

urlpatterns: list = []
