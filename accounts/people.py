"""Writes about people and groups (the studio's users and groups pages; SCIM may share them).

Each service takes the ``actor`` who acts and writes its audit event in the transaction of its change.
Deactivating a person ends their sessions at once (DESIGN.md §3.2); changes that alter who holds which
role (deactivation, group membership, group deletion) invalidate every worker's cached role view.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import audit_append
from policies.services import bump_policy_version
from vaultstudio.db import save_unique
from vaultstudio.errors import BadRequest, Conflict
from vaultstudio.inputs import clean_name

from .models import Group, User
from .sessions import end_sessions

_NAME_MAX = 255


def _clean_person_name(value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) > _NAME_MAX:
        raise BadRequest(f"name must be text of at most {_NAME_MAX} characters.")
    return value.strip()


def _user_snapshot(user: User) -> dict[str, Any]:
    return {"email": user.email, "name": user.name, "source": user.source, "is_active": user.is_active}


def user_create(*, actor: Actor, email: str, name: str = "", password: str | None = None) -> User:
    """Create a local person who logs in with ``email`` and ``password`` and must enrol MFA at first login.

    The password is checked by the configured validators; without one the person cannot log in with a
    password at all (an SSO-only person).
    """
    email = User.objects.normalize_email((email or "").strip()).lower()
    if not email or "@" not in email:
        raise BadRequest("email must be an email address: it is the person's login.")
    user = User(email=email, name=_clean_person_name(name), source=User.SOURCE_LOCAL)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise BadRequest(" ".join(exc.messages)) from exc
    user.set_password(password or None)
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise Conflict(f"A person with the email {email} already exists.")
        save_unique(user, f"A person with the email {email} already exists.")
        audit_append(
            actor=actor,
            action="user.create",
            resource_type="USER",
            resource_ids=[str(user.pk)],
            details={**_user_snapshot(user), "password_set": bool(password)},
        )
    return user


def user_update(*, actor: Actor, user: User, name: str) -> User:
    """Change a person's display name (the email is the login and comes from the IdP for SSO people)."""
    new_name = _clean_person_name(name)
    if new_name == user.name:
        return user
    before = user.name
    with transaction.atomic():
        user.name = new_name
        user.save(update_fields=["name"])
        audit_append(
            actor=actor,
            action="user.update",
            resource_type="USER",
            resource_ids=[str(user.pk)],
            details={"email": user.email, "before": {"name": before}, "after": {"name": new_name}},
        )
    return user


def user_deactivate(*, actor: Actor, user: User) -> User:
    """Deactivate a person and end every session they have, at once. A no-op for an inactive person."""
    if actor.id == str(user.pk):
        raise BadRequest("You cannot deactivate yourself; ask another account admin.")
    if not user.is_active:
        return user
    with transaction.atomic():
        user.is_active = False
        user.deactivated_at = timezone.now()
        user.save(update_fields=["is_active", "deactivated_at"])
        ended = end_sessions(user)
        audit_append(
            actor=actor,
            action="user.deactivate",
            resource_type="USER",
            resource_ids=[str(user.pk)],
            details={"email": user.email, "sessions_ended": ended},
        )
        bump_policy_version()
    return user


def user_activate(*, actor: Actor, user: User) -> User:
    """Let a deactivated person log in again (with their password and MFA, as before)."""
    if user.is_active:
        return user
    with transaction.atomic():
        user.is_active = True
        user.deactivated_at = None
        user.save(update_fields=["is_active", "deactivated_at"])
        audit_append(
            actor=actor,
            action="user.activate",
            resource_type="USER",
            resource_ids=[str(user.pk)],
            details={"email": user.email},
        )
        bump_policy_version()
    return user


# --- groups ---------------------------------------------------------------------------------------


def group_create(*, actor: Actor, name: str) -> Group:
    group = Group(name=clean_name(name, max_length=_NAME_MAX))
    with transaction.atomic():
        save_unique(group, f"A group named {group.name!r} already exists.")
        audit_append(
            actor=actor,
            action="group.create",
            resource_type="GROUP",
            resource_ids=[str(group.pk)],
            details={"name": group.name},
        )
    return group


def group_update(*, actor: Actor, group: Group, name: str) -> Group:
    """Rename a group (its members and role bindings stay)."""
    new_name = clean_name(name, max_length=_NAME_MAX)
    if new_name == group.name:
        return group
    before = group.name
    group.name = new_name
    with transaction.atomic():
        save_unique(group, f"A group named {new_name!r} already exists.")
        audit_append(
            actor=actor,
            action="group.update",
            resource_type="GROUP",
            resource_ids=[str(group.pk)],
            details={"before": {"name": before}, "after": {"name": new_name}},
        )
    return group


def group_delete(*, actor: Actor, group: Group) -> None:
    """Delete a group; its role bindings go with it, so its members lose the roles it gave them."""
    from policies.models import RoleBinding

    with transaction.atomic():
        group_id, name = str(group.pk), group.name
        bindings = list(RoleBinding.objects.filter(group=group).values_list("role__name", flat=True))
        members = group.members.count()
        group.delete()
        audit_append(
            actor=actor,
            action="group.delete",
            resource_type="GROUP",
            resource_ids=[group_id],
            details={"name": name, "members": members, "role_bindings_removed": sorted(bindings)},
        )
        bump_policy_version()


def _group_members_change(*, actor: Actor, group: Group, users: Iterable[User], add: bool) -> list[User]:
    """Add or remove people; only those whose membership actually changes are touched and audited."""
    wanted = {u.pk: u for u in users}
    with transaction.atomic():
        present = set(group.members.filter(pk__in=list(wanted)).values_list("pk", flat=True))
        changed = [u for pk, u in wanted.items() if (pk in present) is not add]
        if not changed:
            return []
        (group.members.add if add else group.members.remove)(*changed)
        audit_append(
            actor=actor,
            action="group.member.assign" if add else "group.member.unassign",
            resource_type="GROUP",
            resource_ids=[str(group.pk)],
            details={"group": group.name, "users": sorted(u.email for u in changed)},
        )
        bump_policy_version()
    return changed


def group_members_add(*, actor: Actor, group: Group, users: Iterable[User]) -> list[User]:
    """Add people to a group; returns those who were not members yet (and were added)."""
    return _group_members_change(actor=actor, group=group, users=users, add=True)


def group_members_remove(*, actor: Actor, group: Group, users: Iterable[User]) -> list[User]:
    """Remove people from a group; returns those who were members (and were removed)."""
    return _group_members_change(actor=actor, group=group, users=users, add=False)
