"""Skyflow-shaped audit endpoint, under ``/v1/audit/``: GET /v1/audit/events."""

from django.urls import path

from .views import SkyflowAuditEventsView

urlpatterns = [
    path("events", SkyflowAuditEventsView.as_view(), name="skyflow-audit-events"),
]
