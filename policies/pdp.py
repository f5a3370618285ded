"""The policy decision point: the principal's compiled policy set for a vault, cached, and ``decide``.

A set is built from the principal's current role bindings (narrowed tokens keep only their named
roles), the ACTIVE policies of those roles for the vault, and the vault's schema. It is cached in
this process under the shared policy version key (``policies.services.policy_version``): every
policy, role, binding or schema change bumps that key in the shared cache, so every worker rebuilds
on its next request. One shared-cache read per request; the database only on a change.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import User
from accounts.principals import ServiceAccountPrincipal
from policies.engine import SERVICE_ACCOUNT, USER, CompiledPolicySet, Decision, Principal
from policies.models import Policy, RoleBinding
from policies.selectors import bindings_of_service_account, bindings_of_user
from policies.services import policy_version

_MAX_SETS = 2048
_lock = threading.Lock()
# key → (policy version, the set, the earliest binding expiry it relied on, or None)
_sets: OrderedDict[tuple[Any, ...], tuple[int, CompiledPolicySet, datetime | None]] = OrderedDict()


def principal_of(caller: Any) -> Principal:
    """The engine's view of ``request.user``: what a policy can test as ``principal.*``."""
    if isinstance(caller, ServiceAccountPrincipal):
        account = caller.service_account
        return Principal(id=str(account.client_id), type=SERVICE_ACCOUNT, name=account.name)
    if isinstance(caller, User):
        return Principal(id=str(caller.pk), type=USER, email=caller.email, name=caller.name or caller.email)
    raise TypeError("Only service accounts and people have policies.")


def context_of(caller: Any) -> Mapping[str, Any]:
    """``request.context``: the token's ``ctx`` claim for a service account (an object; a bare value
    is offered as ``request.context.value``), the IdP attributes for a person."""
    if isinstance(caller, ServiceAccountPrincipal):
        ctx = caller.context
        if isinstance(ctx, dict):
            return ctx
        return {} if ctx is None else {"value": ctx}
    if isinstance(caller, User):
        return caller.attributes if isinstance(caller.attributes, dict) else {}
    return {}


def _bindings(caller: Any) -> list[RoleBinding]:
    if isinstance(caller, ServiceAccountPrincipal):
        bindings = bindings_of_service_account(caller.service_account)
        if caller.narrowed_roles is not None:
            bindings = bindings.filter(role_id__in=list(caller.narrowed_roles))
        return list(bindings)
    if isinstance(caller, User) and caller.is_active:
        return list(bindings_of_user(caller))
    return []


def _cache_key(caller: Any, vault_id: str) -> tuple[Any, ...]:
    if isinstance(caller, ServiceAccountPrincipal):
        return ("sa", caller.service_account.pk, caller.narrowed_roles, vault_id)
    return ("user", caller.pk, None, vault_id)


def _build(caller: Any, vault: Any) -> tuple[CompiledPolicySet, datetime | None]:
    from vaults.selectors import schema_info  # vaults imports policies; this way round at call time

    bindings = [b for b in _bindings(caller) if not b.role.builtin]
    role_ids = [b.role_id for b in bindings]
    expiries = [b.expires_at for b in bindings if b.expires_at is not None]
    policies = (
        Policy.objects.filter(roles__id__in=role_ids, vault=vault, status=Policy.ACTIVE)
        .distinct()
        .values_list("id", "compiled")
    )
    built = CompiledPolicySet.build([(str(pid), compiled) for pid, compiled in policies], schema_info(vault))
    return built, min(expiries) if expiries else None


def policy_set_for(caller: Any, vault: Any, version: int | None = None) -> CompiledPolicySet:
    """The caller's compiled policy set for ``vault``, rebuilt when the version key moved or when a
    binding it relied on has expired since."""
    version = policy_version() if version is None else version
    key = _cache_key(caller, str(vault.pk))
    with _lock:
        hit = _sets.get(key)
        if hit is not None and hit[0] == version and (hit[2] is None or hit[2] > timezone.now()):
            _sets.move_to_end(key)
            return hit[1]
    built, expiry = _build(caller, vault)
    with _lock:
        _sets[key] = (version, built, expiry)
        _sets.move_to_end(key)
        while len(_sets) > _MAX_SETS:
            _sets.popitem(last=False)
    return built


def decide_for(
    caller: Any,
    vault: Any,
    action: str,
    table: str,
    columns: Sequence[str] | None = None,
    redaction: str | None = None,
    context: Mapping[str, Any] | None = None,
    *,
    version: int | None = None,
) -> Decision:
    """What ``caller`` may do: the engine's Decision for this vault, action, table and columns.

    ``context`` replaces the caller's own ``request.context`` (the simulator asks "what if");
    ``version``: the shared policy version when the caller has already read it this request.
    """
    return policy_set_for(caller, vault, version).decide(
        principal_of(caller), action, table, columns, redaction, context_of(caller) if context is None else context
    )


def forget_policy_sets() -> None:
    """Drop this process's cached sets (tests)."""
    with _lock:
        _sets.clear()
