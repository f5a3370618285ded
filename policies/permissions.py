"""DRF permissions by built-in management role."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from .models import ACCOUNT_ADMIN, AUDITOR, VAULT_OWNER
from .selectors import management_roles


class _HasRole(BasePermission):
    role = ""
    message = ""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        roles = getattr(request, "_management_roles", None)
        if roles is None:
            roles = management_roles(user)
            request._management_roles = roles
        return self.role in roles


class IsAccountAdmin(_HasRole):
    role = ACCOUNT_ADMIN
    message = "This needs the ACCOUNT_ADMIN role."


class IsVaultOwner(_HasRole):
    role = VAULT_OWNER
    message = "This needs the VAULT_OWNER role."


class IsAuditor(_HasRole):
    role = AUDITOR
    message = "This needs the AUDITOR role."
