"""Writes about roles and bindings; each audited, each bumping the policy version key.

The version key lives in the shared cache: the policy decision point (data plane) and the
management-role checks compare it to what they cached, so a change applies on the next request in
every worker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import Group, ServiceAccount, User
from audit.actors import Actor
from audit.services import audit_append
from vaultstudio.db import save_unique
from vaultstudio.errors import BadRequest, Conflict

from .models import Role, RoleBinding

POLICY_VERSION_KEY = "policy-version"


def policy_version() -> int:
    return int(cache.get(POLICY_VERSION_KEY) or 0)


def bump_policy_version() -> None:
    """Invalidate every worker's cached role/policy view (called after the change commits)."""

    def bump() -> None:
        try:
            cache.incr(POLICY_VERSION_KEY)
        except ValueError:  # no key yet (first change, or the cache was emptied)
            if not cache.add(POLICY_VERSION_KEY, 1, timeout=None):
                cache.incr(POLICY_VERSION_KEY)

    transaction.on_commit(bump)


def _clean_role_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 128:
        raise BadRequest("name must be a non-empty string of at most 128 characters.")
    return name.strip()


def role_create(*, actor: Actor, name: str, description: str = "") -> Role:
    role = Role(name=_clean_role_name(name), description=description or "")
    with transaction.atomic():
        save_unique(role, f"A role named {role.name!r} already exists.")
        audit_append(
            actor=actor,
            action="role.create",
            resource_type="ROLE",
            resource_ids=[str(role.id)],
            details={"name": role.name},
        )
        bump_policy_version()
    return role


def role_update(*, actor: Actor, role: Role, name: str | None = None, description: str | None = None) -> Role:
    if role.builtin and name is not None and name != role.name:
        raise BadRequest(f"{role.name} is a built-in role; it cannot be renamed.")
    before = {"name": role.name, "description": role.description}
    if name is not None:
        role.name = _clean_role_name(name)
    if description is not None:
        role.description = description
    with transaction.atomic():
        save_unique(role, f"A role named {role.name!r} already exists.")
        audit_append(
            actor=actor,
            action="role.update",
            resource_type="ROLE",
            resource_ids=[str(role.id)],
            details={"before": before, "after": {"name": role.name, "description": role.description}},
        )
        bump_policy_version()
    return role


def role_delete(*, actor: Actor, role: Role) -> None:
    if role.builtin:
        raise BadRequest(f"{role.name} is a built-in role; it cannot be deleted.")
    with transaction.atomic():
        bindings = role.bindings.count()
        role_id, role_name = str(role.id), role.name
        role.delete()
        audit_append(
            actor=actor,
            action="role.delete",
            resource_type="ROLE",
            resource_ids=[role_id],
            details={"name": role_name, "bindings_removed": bindings},
        )
        bump_policy_version()


def binding_create(
    *,
    actor: Actor,
    role: Role,
    user: User | None = None,
    group: Group | None = None,
    service_account: ServiceAccount | None = None,
    vault_id: str | None = None,
    expires_at: datetime | None = None,
) -> RoleBinding:
    """Bind a role to exactly one user, group or service account."""
    subjects = [s for s in (user, group, service_account) if s is not None]
    if len(subjects) != 1:
        raise BadRequest("A binding names exactly one of user, group or service_account.")
    if expires_at is not None and expires_at <= timezone.now():
        raise BadRequest("expires_at must be in the future.")
    if vault_id is not None and not role.builtin:
        raise BadRequest("vault scopes only built-in roles; a custom role's policies already name their vault.")
    existing = RoleBinding.objects.filter(
        role=role, user=user, group=group, service_account=service_account, vault_id=vault_id
    )
    if existing.exists():
        raise Conflict(f"Role {role.name} is already bound to this subject.")
    with transaction.atomic():
        binding = RoleBinding.objects.create(
            role=role,
            user=user,
            group=group,
            service_account=service_account,
            vault_id=vault_id,
            expires_at=expires_at,
            created_by=actor.display,
        )
        kind, who = binding.subject
        audit_append(
            actor=actor,
            action="role.binding.create",
            resource_type="ROLE_BINDING",
            resource_ids=[str(binding.id)],
            details={
                "role": role.name,
                "role_id": str(role.id),
                "subject_type": kind,
                "subject": who,
                "vault_id": str(vault_id) if vault_id else None,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
        bump_policy_version()
    return binding


def binding_delete(*, actor: Actor, binding: RoleBinding) -> None:
    with transaction.atomic():
        kind, who = binding.subject
        binding_id, role = str(binding.id), binding.role
        binding.delete()
        audit_append(
            actor=actor,
            action="role.binding.delete",
            resource_type="ROLE_BINDING",
            resource_ids=[binding_id],
            details={"role": role.name, "role_id": str(role.id), "subject_type": kind, "subject": who},
        )
        bump_policy_version()
