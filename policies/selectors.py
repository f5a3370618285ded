"""Reads about roles and bindings: which roles a principal holds, now."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import ServiceAccount, User
from accounts.principals import ServiceAccountPrincipal
from vaultstudio.errors import NotFound
from vaultstudio.inputs import parse_uuid

from .models import BUILTIN_ROLES, VAULT_OWNER, Role, RoleBinding


def _current(bindings: QuerySet[RoleBinding]) -> QuerySet[RoleBinding]:
    return bindings.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


def bindings_of_service_account(account: ServiceAccount) -> QuerySet[RoleBinding]:
    return _current(RoleBinding.objects.filter(service_account=account)).select_related("role")


def bindings_of_user(user: User) -> QuerySet[RoleBinding]:
    return _current(RoleBinding.objects.filter(Q(user=user) | Q(group__members=user))).select_related("role").distinct()


def _builtin_bindings(principal: Any) -> list[RoleBinding] | None:
    """The principal's current bindings of built-in roles; None means every role (a superuser)."""
    if isinstance(principal, ServiceAccountPrincipal):
        bindings = bindings_of_service_account(principal.service_account)
        narrowed = principal.narrowed_roles
        if narrowed is not None:
            bindings = bindings.filter(role_id__in=list(narrowed))
    elif isinstance(principal, User) and principal.is_active:
        if principal.is_superuser:
            return None
        bindings = bindings_of_user(principal)
    else:
        return []
    return [b for b in bindings if b.role.builtin]


def management_roles(principal: Any) -> set[str]:
    """The built-in role names a principal holds now (narrowed tokens keep only the named roles).

    Superusers hold every management role; that is management only, never data access.
    """
    bindings = _builtin_bindings(principal)
    if bindings is None:
        return set(BUILTIN_ROLES)
    return {b.role.name for b in bindings}


def vault_owner_scope(principal: Any) -> set[str] | None:
    """Which vaults a principal owns (VAULT_OWNER): None for all of them, else their ids."""
    bindings = _builtin_bindings(principal)
    if bindings is None:
        return None
    scoped: set[str] = set()
    for binding in bindings:
        if binding.role.name != VAULT_OWNER:
            continue
        if binding.vault_id is None:
            return None
        scoped.add(str(binding.vault_id))
    return scoped


def roles_list() -> QuerySet[Role]:
    return Role.objects.all()


def role_get(role_id: str) -> Role:
    """The role with this id; 404 for an unknown or malformed id."""
    uid = parse_uuid(role_id)
    role = roles_list().filter(pk=uid).first() if uid else None
    if role is None:
        raise NotFound(f"No role with id {role_id}.")
    return role


def role_bindings(role: Role) -> QuerySet[RoleBinding]:
    """Every binding of a role, expired ones included, with its subject joined in."""
    # The subject's email / name / client_id is shown for each binding: join them, never N+1.
    return RoleBinding.objects.filter(role=role).select_related("user", "group", "service_account")


def role_binding_get(role: Role, binding_id: str) -> RoleBinding:
    """One binding of a role; 404 naming the role and the binding when it has no such binding."""
    uid = parse_uuid(binding_id)
    binding = role_bindings(role).filter(pk=uid).first() if uid else None
    if binding is None:
        raise NotFound(f"Role {role.name} has no binding {binding_id}.")
    return binding
