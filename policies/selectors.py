"""Reads about roles and bindings: which roles a principal holds, now."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import ServiceAccount, User
from accounts.principals import ServiceAccountPrincipal

from .models import BUILTIN_ROLES, Role, RoleBinding


def _current(bindings: QuerySet[RoleBinding]) -> QuerySet[RoleBinding]:
    return bindings.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


def bindings_of_service_account(account: ServiceAccount) -> QuerySet[RoleBinding]:
    return _current(RoleBinding.objects.filter(service_account=account)).select_related("role")


def bindings_of_user(user: User) -> QuerySet[RoleBinding]:
    return _current(RoleBinding.objects.filter(Q(user=user) | Q(group__members=user))).select_related("role").distinct()


def management_roles(principal: Any) -> set[str]:
    """The built-in role names a principal holds now (narrowed tokens keep only the named roles).

    Superusers hold every management role; that is management only, never data access.
    """
    if isinstance(principal, ServiceAccountPrincipal):
        bindings = bindings_of_service_account(principal.service_account)
        narrowed = principal.narrowed_roles
        if narrowed is not None:
            bindings = bindings.filter(role_id__in=list(narrowed))
    elif isinstance(principal, User) and principal.is_active:
        if principal.is_superuser:
            return set(BUILTIN_ROLES)
        bindings = bindings_of_user(principal)
    else:
        return set()
    return {b.role.name for b in bindings if b.role.builtin}


def roles_list() -> QuerySet[Role]:
    return Role.objects.all()
