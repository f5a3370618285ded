"""Studio URLs of audit (mounted under /studio/ by vaultstudio.studio.site): the audit viewer (AUDITOR)."""

from __future__ import annotations

from typing import Any

from django.urls import path

from . import views

urlpatterns: list[Any] = [
    path("audit/", views.audit_list, name="audit"),
    path("audit/events/<int:seq>/", views.audit_event, name="audit_event"),
    path("audit/verify/", views.audit_verify, name="audit_verify"),
    path("audit/export/", views.audit_export, name="audit_export"),
]
