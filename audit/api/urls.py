"""Management API routes of the audit app, under ``/api/v1/audit/``."""

from django.urls import path

from .views import AuditEventListView, AuditExportView, AuditVerifyView

urlpatterns = [
    path("events", AuditEventListView.as_view(), name="audit-events"),
    path("export", AuditExportView.as_view(), name="audit-export"),
    path("verify", AuditVerifyView.as_view(), name="audit-verify"),
]
