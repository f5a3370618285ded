"""The policies app: roles, role bindings (and, with the data plane, the policy language and engine)."""

from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"
    default_auto_field = "django.db.models.BigAutoField"
