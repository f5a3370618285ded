"""Writes about policies, roles and bindings; each audited, each bumping the policy version key.

The version key lives in the shared cache: the policy decision point (data plane) and the
management-role checks compare it to what they cached, so a change applies on the next request in
every worker.

A policy is compiled against its vault's schema whenever its text is saved (created, changed, rolled
back); text that does not compile is refused with every error located by line and column, and
nothing is written. Every saved state of a policy is kept as a ``PolicyVersion``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.utils import timezone

from accounts.models import Group, ServiceAccount, User
from audit.actors import Actor
from audit.services import audit_append
from vaultstudio.db import save_unique
from vaultstudio.errors import BadRequest, Conflict, NotFound
from vaultstudio.inputs import clean_name

from .language import SchemaInfo, compile_policy
from .models import Policy, PolicyVersion, Role, RoleBinding

if TYPE_CHECKING:
    from vaults.models import Vault

POLICY_VERSION_KEY = "policy-version"


def policy_version() -> int:
    """The shared version, read from the cache on every call (never remembered in the process)."""
    backend = caches["default"]
    read = backend.__dict__.get("_vs_read_policy_version")
    if read is None:
        read = backend.__dict__["_vs_read_policy_version"] = _version_reader(backend)
    return int(read() or 0)


def _version_reader(backend: Any) -> Any:
    """How to read the version key from ``backend`` (kept on the backend: per thread, as Django keeps those).

    On Redis, a GET through one ``redis.Redis`` client over the backend's own connection pool:
    ``cache.get`` builds a new client object per call, which cost more than the round trip itself
    (~130 against ~50 µs here), on a read every data-plane request makes. Values are decoded as
    ``cache.get`` decodes them (an int is stored as its digits).
    """
    if isinstance(backend, RedisCache):
        key = backend.make_and_validate_key(POLICY_VERSION_KEY)
        client = backend._cache.get_client(key)
        loads = backend._cache._serializer.loads

        def read() -> Any:
            raw = client.get(key)
            return None if raw is None else loads(raw)

        return read
    return lambda: backend.get(POLICY_VERSION_KEY)


def bump_policy_version() -> None:
    """Invalidate every worker's cached role/policy view, and its per-process copies of schema,
    vault and key rows (``vaultstudio.versioned``); runs after the change commits."""

    def bump() -> None:
        try:
            cache.incr(POLICY_VERSION_KEY)
        except ValueError:  # no key yet (first change, or the cache was emptied)
            if not cache.add(POLICY_VERSION_KEY, 1, timeout=None):
                cache.incr(POLICY_VERSION_KEY)

    transaction.on_commit(bump)


def _policy_ids(policies: Iterable[Policy]) -> list[str]:
    return sorted(str(p.pk) for p in policies)


def _check_role_policies(role: Role, policies: list[Policy] | None) -> list[Policy] | None:
    """The policies to set on ``role`` (duplicates dropped), or None to leave them as they are."""
    if policies is None:
        return None
    unique = list({p.pk: p for p in policies}.values())
    if role.builtin and unique:
        raise BadRequest(
            f"{role.name} is a built-in role: it grants management rights only and cannot carry policies. "
            "Attach the policies to a custom role and bind that role instead."
        )
    return unique


def role_create(*, actor: Actor, name: str, description: str = "", policies: list[Policy] | None = None) -> Role:
    """Create a custom role, optionally carrying policies (of any vault)."""
    role = Role(name=clean_name(name, max_length=128), description=description or "")
    attached = _check_role_policies(role, policies) or []
    with transaction.atomic():
        save_unique(role, f"A role named {role.name!r} already exists.")
        if attached:
            role.policies.set(attached)
        audit_append(
            actor=actor,
            action="role.create",
            resource_type="ROLE",
            resource_ids=[str(role.id)],
            details={"name": role.name, "policies": _policy_ids(attached)},
        )
        bump_policy_version()
    return role


def role_update(
    *,
    actor: Actor,
    role: Role,
    name: str | None = None,
    description: str | None = None,
    policies: list[Policy] | None = None,
) -> Role:
    """Change a role's name, description or policies (None leaves a field as it is).

    Built-in roles keep their names and carry no policies: they grant management rights only.
    """
    if role.builtin and name is not None and name != role.name:
        raise BadRequest(f"{role.name} is a built-in role; it cannot be renamed.")
    attached = _check_role_policies(role, policies)
    current_policies = _policy_ids(role.policies.all())
    before = {"name": role.name, "description": role.description, "policies": current_policies}
    if name is not None:
        role.name = clean_name(name, max_length=128)
    if description is not None:
        role.description = description
    after_policies = current_policies if attached is None else _policy_ids(attached)
    with transaction.atomic():
        save_unique(role, f"A role named {role.name!r} already exists.")
        if attached is not None and after_policies != current_policies:
            role.policies.set(attached)
        audit_append(
            actor=actor,
            action="role.update",
            resource_type="ROLE",
            resource_ids=[str(role.id)],
            details={
                "before": before,
                "after": {"name": role.name, "description": role.description, "policies": after_policies},
            },
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


# --- policies -------------------------------------------------------------------------------------

_MAX_ERRORS_IN_MESSAGE = 3


def _schema_of(vault: Vault) -> SchemaInfo:
    # vaults.services imports this module (to bump the version key on schema changes), so the
    # vaults side is imported when first needed, not at import time.
    from vaults.selectors import schema_info

    return schema_info(vault)


def _clean_status(status: Any) -> str:
    if status not in (Policy.ACTIVE, Policy.INACTIVE):
        raise BadRequest(f"status must be {Policy.ACTIVE} or {Policy.INACTIVE}; got {status!r}.")
    return str(status)


def _clean_source(source: Any) -> str:
    if not isinstance(source, str):
        raise BadRequest("source must be the policy text, a string.")
    return source


def _compile_or_400(vault: Vault, source: str, what: str = "The policy") -> dict[str, Any]:
    """The compiled JSON of ``source``; a 400 listing every error (line, column, message) otherwise."""
    result = compile_policy(source, _schema_of(vault))
    if result.compiled is None:
        errors = result.errors
        shown = "; ".join(str(e) for e in errors[:_MAX_ERRORS_IN_MESSAGE])
        more = f"; and {len(errors) - _MAX_ERRORS_IN_MESSAGE} more" if len(errors) > _MAX_ERRORS_IN_MESSAGE else ""
        raise BadRequest(
            f"{what} has {len(errors)} error(s): {shown}{more}. Each is listed in details with its line and column.",
            details=[e.as_dict() for e in errors],
        )
    return result.compiled.to_json()


def source_digest(source: str) -> str:
    """SHA-256 of a policy text: the audit trail identifies a text by it without repeating it."""
    return hashlib.sha256(source.encode("utf-8", errors="surrogatepass")).hexdigest()


def _record_version(policy: Policy, actor: Actor) -> PolicyVersion:
    return PolicyVersion.objects.create(
        policy=policy,
        version=policy.version,
        name=policy.name,
        source=policy.source,
        compiled=policy.compiled,
        status=policy.status,
        created_by=actor.display[:255],
    )


def _audit_policy(actor: Actor, action: str, policy: Policy, **extra: Any) -> None:
    audit_append(
        actor=actor,
        action=action,
        resource_type="POLICY",
        resource_ids=[str(policy.pk)],
        vault_id=str(policy.vault_id),
        details={
            "name": policy.name,
            "version": policy.version,
            "status": policy.status,
            "source_sha256": source_digest(policy.source),
            **extra,
        },
    )


def _duplicate_name(vault_name: str, name: str) -> str:
    return f"Vault {vault_name} already has a policy named {name!r}; choose another name."


def policy_validate(*, vault: Vault, source: str) -> list[dict[str, Any]]:
    """Every error of ``source`` against the vault's schema (empty when it compiles); writes nothing."""
    result = compile_policy(_clean_source(source), _schema_of(vault))
    return [e.as_dict() for e in result.errors]


def policy_create(*, actor: Actor, vault: Vault, name: str, source: str, status: str = Policy.ACTIVE) -> Policy:
    """Compile ``source`` against the vault's schema and save it as version 1 of a new policy."""
    policy = Policy(
        name=clean_name(name, max_length=128),
        vault=vault,
        status=_clean_status(status),
        version=1,
        updated_by=actor.display[:255],
    )
    policy.source = _clean_source(source)
    policy.compiled = _compile_or_400(vault, policy.source)
    with transaction.atomic():
        save_unique(policy, _duplicate_name(vault.name, policy.name))
        _record_version(policy, actor)
        _audit_policy(actor, "policy.create", policy)
        bump_policy_version()
    return policy


def _locked(policy: Policy) -> Policy:
    # Two concurrent changes must not both write version N+1: the row lock orders them (SQLite
    # transactions here already hold the database's write lock).
    return Policy.objects.select_for_update().select_related("vault").get(pk=policy.pk)


def _save_new_version(actor: Actor, policy: Policy, action: str, **extra: Any) -> Policy:
    policy.version += 1
    policy.updated_by = actor.display[:255]
    save_unique(policy, _duplicate_name(policy.vault.name, policy.name))
    _record_version(policy, actor)
    _audit_policy(actor, action, policy, **extra)
    bump_policy_version()
    return policy


def policy_update(
    *,
    actor: Actor,
    policy: Policy,
    name: str | None = None,
    source: str | None = None,
    status: str | None = None,
) -> Policy:
    """Change a policy's name, text or status (None leaves a field as it is).

    A real change makes a new version; a request that changes nothing makes none and is not audited.
    New text is compiled against the vault's schema and refused, with every error, if it does not
    compile; an unchanged text is not recompiled, so a policy whose columns were dropped since can
    still be renamed or set INACTIVE.
    """
    new_name = clean_name(name, max_length=128) if name is not None else None
    new_status = _clean_status(status) if status is not None else None
    new_source = _clean_source(source) if source is not None else None
    with transaction.atomic():
        current = _locked(policy)
        changed: list[str] = []
        if new_name is not None and new_name != current.name:
            current.name = new_name
            changed.append("name")
        if new_status is not None and new_status != current.status:
            current.status = new_status
            changed.append("status")
        if new_source is not None and new_source != current.source:
            current.compiled = _compile_or_400(current.vault, new_source)
            current.source = new_source
            changed.append("source")
        if not changed:
            return current
        return _save_new_version(actor, current, "policy.update", changed=sorted(changed))


def policy_rollback(*, actor: Actor, policy: Policy, version: int) -> Policy:
    """Make a new version whose text is that of ``version``, recompiled against today's schema.

    The name and status stay as they are now: a rollback restores what the policy says, not whether
    it is enforced. Rolling back to a text equal to the current one changes nothing.
    """
    with transaction.atomic():
        current = _locked(policy)
        old = PolicyVersion.objects.filter(policy=current, version=version).first()
        if old is None:
            raise NotFound(f"Policy {current.name} has no version {version}; its versions are 1 to {current.version}.")
        if old.source == current.source:
            return current
        current.compiled = _compile_or_400(
            current.vault,
            old.source,
            what=f"Version {version} of policy {current.name} no longer compiles against the vault's schema: it",
        )
        current.source = old.source
        return _save_new_version(actor, current, "policy.rollback", rolled_back_to=version)


def policy_delete(*, actor: Actor, policy: Policy) -> None:
    """Delete a policy and its versions; the roles that carried it stop granting what it allowed."""
    with transaction.atomic():
        current = _locked(policy)
        roles = sorted(str(pk) for pk in current.roles.values_list("pk", flat=True))
        policy_id = current.pk
        current.delete()
        current.pk = policy_id  # for the audit event's resource id
        _audit_policy(actor, "policy.delete", current, detached_from_roles=roles)
        bump_policy_version()
