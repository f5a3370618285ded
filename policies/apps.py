"""The policies app: roles, role bindings (and, with the data plane, the policy language and engine)."""

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_builtin_roles(using: str = "default", **_: Any) -> None:
    """Built-in roles exist after every migrate — and after a flush, which also sends post_migrate."""
    from .models import BUILTIN_ROLES, Role

    for name, description in BUILTIN_ROLES.items():
        Role.objects.using(using).get_or_create(name=name, defaults={"description": description, "builtin": True})


class PoliciesConfig(AppConfig):
    name = "policies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(ensure_builtin_roles, sender=self, dispatch_uid="policies.ensure_builtin_roles")
