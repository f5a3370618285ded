"""The audit app: tamper-evident, append-only, hash-chained audit events."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"
